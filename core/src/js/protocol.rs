//! The IPC protocol between the host and a worker.
//!
//! Frames are a 4-byte little-endian length followed by that many bytes of JSON, so a
//! message can neither be lost in nor mixed with another. Requests carry ids that their
//! replies echo (correlation ids). The first frame a worker sends is `Ready` with
//! [`PROTOCOL_VERSION`]; a host refuses a worker that speaks another version.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::io::AsyncWriteExt;

use crate::error::JsError;

pub(crate) const PROTOCOL_VERSION: u32 = 2;

/// Largest frame either side accepts.
pub(crate) const MAX_FRAME_BYTES: usize = 64 << 20;

// Externally tagged (serde's default), so that raw JSON payloads pass through untouched:
// an internally tagged enum would buffer and re-parse them.

/// Host → worker. Several may travel in one write; the worker handles them in order.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum HostMessage {
    Execute(ExecuteFrame),
    /// Skip this execution if it has not started (its caller left or its deadline passed);
    /// the worker answers `Skipped`. Ignored for an execution already run or running.
    Cancel { execution: u64 },
    /// Drop these compiled tasks. Only the host decides what a worker keeps compiled, so
    /// both always agree on it.
    Forget { keys: Vec<String> },
    FetchReply { fetch: u64, result: Result<FetchResponse, FetchFailure> },
    Ping { nonce: u64 },
    Shutdown,
}

/// Worker → host.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum WorkerMessage {
    Ready { protocol: u32, pid: u32 },
    Console { execution: u64, level: String, message: String },
    Fetch { execution: u64, fetch: u64, request: FetchRequest },
    /// `cached`: the worker now holds the task compiled (false when main.js failed to load).
    Result { execution: u64, outcome: Result<Box<RawValue>, Failure>, cached: bool },
    Skipped { execution: u64 },
    Pong { nonce: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ExecuteFrame {
    pub execution: u64,
    /// The task's cache key; the worker keeps one compiled context per key.
    pub key: String,
    /// The task's code, sent until the worker reports the key compiled.
    pub source: Option<String>,
    pub input: Box<RawValue>,
    /// The task's `context` argument, as JSON text.
    pub context: Box<RawValue>,
}

/// Why an execution produced no output.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Failure {
    /// The task threw, or returned something that is not JSON.
    Threw(Box<JsError>),
    /// The output's JSON text is longer than the frame allows.
    OutputTooLarge { bytes: usize },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FetchRequest {
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

/// Why a fetch produced no response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FetchFailure {
    pub message: String,
    /// False for what trying again cannot change: a refused host, header or URL, a body
    /// over the budget. True for transport failures.
    pub retryable: bool,
}

impl FetchFailure {
    pub fn refused(message: impl Into<String>) -> FetchFailure {
        FetchFailure { message: message.into(), retryable: false }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FetchResponse {
    pub url: String,
    pub status: u16,
    pub status_text: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Appends `message` as one frame to `buffer`, so several frames can go in one write.
pub(crate) fn encode_into<T: Serialize>(buffer: &mut Vec<u8>, message: &T) -> std::io::Result<()> {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut *buffer, message)?;
    let length = buffer.len() - start - 4;
    if length > MAX_FRAME_BYTES {
        buffer.truncate(start);
        return Err(std::io::Error::other(format!("message of {length} bytes exceeds the {MAX_FRAME_BYTES}-byte frame limit")));
    }
    buffer[start..start + 4].copy_from_slice(&(length as u32).to_le_bytes());
    Ok(())
}

fn encode<T: Serialize>(message: &T) -> std::io::Result<Vec<u8>> {
    let mut frame = Vec::new();
    encode_into(&mut frame, message)?;
    Ok(frame)
}

fn decode<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> std::io::Result<T> {
    serde_json::from_slice(payload).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn check_length(header: [u8; 4]) -> std::io::Result<usize> {
    let length = u32::from_le_bytes(header) as usize;
    if length > MAX_FRAME_BYTES {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("frame of {length} bytes exceeds the limit")));
    }
    Ok(length)
}

/// Blocking framing, for the worker side.
pub(crate) fn write_frame<T: Serialize>(stream: &mut impl Write, message: &T) -> std::io::Result<()> {
    stream.write_all(&encode(message)?)
}

/// Blocking framing, for the worker side. `Ok(None)` at a clean end of stream.
pub(crate) fn read_frame<T: for<'de> Deserialize<'de>>(stream: &mut impl Read) -> std::io::Result<Option<T>> {
    let mut header = [0; 4];
    match stream.read_exact(&mut header) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let mut payload = vec![0; check_length(header)?];
    stream.read_exact(&mut payload)?;
    decode(&payload).map(Some)
}

/// Async framing, for the host side.
pub(crate) async fn write_frame_async<T: Serialize>(stream: &mut (impl AsyncWriteExt + Unpin), message: &T) -> std::io::Result<()> {
    stream.write_all(&encode(message)?).await
}

/// The first whole frame at the start of `buffer`, if one is there, and the bytes it takes.
pub(crate) fn decode_frame<T: for<'de> Deserialize<'de>>(buffer: &[u8]) -> std::io::Result<Option<(T, usize)>> {
    let Some(header) = buffer.first_chunk::<4>() else { return Ok(None) };
    let length = check_length(*header)?;
    match buffer.get(4..4 + length) {
        Some(payload) => Ok(Some((decode(payload)?, 4 + length))),
        None => Ok(None),
    }
}
