//! What a job payload costs on its way between database, host and worker, in each
//! representation the core could carry it in: JSON text, a serde_json tree, a Boa value.
//! The figures and the decision they led to are in bench/README.md, "Value representation".
//!
//! serde_json's `arbitrary_precision` (numbers kept as text) is a cargo feature here, so
//! run both builds:
//!
//! ```text
//! cargo run --release
//! cargo run --release --features arbitrary_precision
//! ```

mod payloads;
mod timing;

use boa_engine::{Context, JsObject, JsString, JsValue, Source};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use timing::{time, Figure};

/// An execution frame host → worker carrying the input as a tree...
#[derive(Serialize, Deserialize)]
struct TreeFrame {
    execution: u64,
    input: Value,
}

/// ...or as JSON text, copied through without being parsed.
#[derive(Serialize, Deserialize)]
struct TextFrame {
    execution: u64,
    input: Box<RawValue>,
}

fn main() {
    print_machine();
    let payloads = [("small, 10 keys", payloads::small()), ("job", payloads::job()), ("records", payloads::records())];
    for (name, text) in payloads {
        println!("\n{name}: {} bytes", text.len());
        measure_serde(&text);
        measure_frames(&text);
        measure_boa(&text);
    }
}

fn print_machine() {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo").lines().find_map(|l| l.strip_prefix("model name")).map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
    let date = std::process::Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    println!("machine: {} × {}, Linux {}", std::thread::available_parallelism().map_or(0, |n| n.get()), cpu.unwrap_or_default(), read("/proc/sys/kernel/osrelease").trim());
    println!("date: {}; load average: {}", date.unwrap_or_default(), read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    // Checked on a value rather than trusted from the build flags: `1.50` keeps its trailing
    // zero only when numbers are stored as text.
    let as_text = serde_json::to_string(&serde_json::from_str::<Value>("1.50").unwrap()).unwrap() == "1.50";
    println!("serde_json arbitrary_precision: {}", if as_text { "on (numbers kept as text)" } else { "off (numbers as i64/u64/f64)" });
    println!("each figure: median µs per call of {} runs of ~20 ms (fastest–slowest run)", timing::RUNS);
}

fn row(what: &str, figure: Figure) {
    println!("  {what:<40} {figure}");
}

fn measure_serde(text: &str) {
    let value: Value = serde_json::from_str(text).unwrap();
    row("serde: text → Value", time(|| serde_json::from_str::<Value>(text).unwrap()));
    row("serde: Value → text", time(|| serde_json::to_string(&value).unwrap()));
    row("serde: text → Box<RawValue> (checks it)", time(|| RawValue::from_string(text.to_string()).unwrap()));
    row("serde: read every number of a Value", time(|| sum_numbers(&value)));
}

/// What every consumer of a tree does (a binding building host objects, Boa's from_json):
/// reads each number as an integer if it is one, else as a float.
fn sum_numbers(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_i64().map_or_else(|| n.as_f64().unwrap_or(0.0), |i| i as f64),
        Value::Array(items) => items.iter().map(sum_numbers).sum(),
        Value::Object(map) => map.values().map(sum_numbers).sum(),
        _ => 0.0,
    }
}

fn measure_frames(text: &str) {
    let tree = TreeFrame { execution: 1, input: serde_json::from_str(text).unwrap() };
    let raw = TextFrame { execution: 1, input: RawValue::from_string(text.to_string()).unwrap() };
    let frame = serde_json::to_string(&raw).unwrap();
    row("frame, input as Value: encode", time(|| serde_json::to_vec(&tree).unwrap()));
    row("frame, input as Value: decode", time(|| serde_json::from_str::<TreeFrame>(&frame).unwrap()));
    row("frame, input as raw text: encode", time(|| serde_json::to_vec(&raw).unwrap()));
    row("frame, input as raw text: decode", time(|| serde_json::from_str::<TextFrame>(&frame).unwrap()));
}

/// What a worker does with the input (into JavaScript) and the output (out of it).
fn measure_boa(text: &str) {
    let mut context = Context::default();
    let parse = global_function(&mut context, "JSON.parse");
    let stringify = global_function(&mut context, "JSON.stringify");
    let value: Value = serde_json::from_str(text).unwrap();
    row("boa: JsValue::from_json(&Value)", time(|| JsValue::from_json(&value, &mut context).unwrap()));
    row("boa: JSON.parse(text)", time(|| parse.call(&JsValue::undefined(), &[JsString::from(text).into()], &mut context).unwrap()));
    let object = JsValue::from_json(&value, &mut context).unwrap();
    row("boa: JsValue::to_json() → Value", time(|| object.to_json(&mut context).unwrap()));
    row(
        "boa: JSON.stringify → text",
        time(|| stringify.call(&JsValue::undefined(), std::slice::from_ref(&object), &mut context).unwrap().as_string().unwrap().to_std_string_escaped()),
    );
}

fn global_function(context: &mut Context, name: &str) -> JsObject {
    context.eval(Source::from_bytes(name)).unwrap().as_callable().unwrap().clone()
}
