//! The floor of a workflow: what its steps need of the database at the least, done with
//! bare sqlx on a database cogwork created, on the store's SQLite settings. A step is three
//! autocommitted statements, each its own transaction: claim its job (the jobs floor's
//! `UPDATE … RETURNING`, one row), record its output (one `UPDATE`), insert the next step's
//! job with that output as its input (one `INSERT`). No run, no step rows, no transitions,
//! no events: any system that keeps its steps as rows pays at least this.
//!
//! The fan-out's floor uses the jobs floor's batches: the 100 jobs inserted by one
//! multi-row `INSERT`, claimed by one `UPDATE … RETURNING` and completed by one set-based
//! `UPDATE`, then the fan-in as one step.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::{AssertSqlSafe, Row};

use crate::floor::{Bare, CLAIM};
use crate::setup::now_micros;
use crate::shapes::{Shape, FAN_WIDTH, PLUS_ONE};

/// Records the output of the claimed job `$1`.
const FINISH: &str = "UPDATE jobs SET state = 'completed', output = $3, lease_until = NULL, updated_at = $2, \
    finished_at = $2 WHERE id = $1 AND state = 'running'";

/// One workflow of `shape`, end to end.
pub async fn run(bare: &Bare, shape: Shape) -> Duration {
    let started = Instant::now();
    match shape {
        Shape::Chain(steps) => chain(bare, steps).await,
        Shape::FanOutFanIn => fan_out_fan_in(bare).await,
    }
    started.elapsed()
}

/// `steps` steps one after another, each `x + 1` of the one before, from 1.
async fn chain(bare: &Bare, steps: usize) {
    bare.insert_each(PLUS_ONE, &[json!({"x": 1}).to_string()]).await;
    let mut x = 0;
    for step in 1..=steps {
        x = step_of(bare).await;
        if step < steps {
            bare.insert_each(PLUS_ONE, &[json!({"x": x}).to_string()]).await;
        }
    }
    assert_eq!(x, 1 + steps as i64, "the floor's chain of {steps} ends at 1 + {steps}");
}

async fn fan_out_fan_in(bare: &Bare) {
    let leaves: Vec<String> = (0..FAN_WIDTH).map(|i| json!({"x": i}).to_string()).collect();
    bare.insert_all(PLUS_ONE, &leaves).await;
    assert_eq!(bare.drain(FAN_WIDTH as i64).await, FAN_WIDTH as u64, "the floor ran every leaf once");
    bare.insert_each(PLUS_ONE, &[json!({"x": 0}).to_string()]).await;
    step_of(bare).await;
}

/// Claims the one due job, records `x + 1` of its input as its output, and returns it.
async fn step_of(bare: &Bare) -> i64 {
    let (claim, now) = (bare.sql(CLAIM), now_micros());
    let (id, input): (i64, String) = on_pool!(bare, pool => {
        let row = sqlx::query(AssertSqlSafe(claim)).bind(now + 30_000_000).bind(now).bind(1_i64)
            .fetch_one(pool).await.expect("the floor claims a step");
        (row.get(0), row.get(2))
    });
    let input: serde_json::Value = serde_json::from_str(&input).expect("a JSON input");
    let x = input["x"].as_i64().expect("an x") + 1;
    let finish = bare.sql(FINISH);
    on_pool!(bare, pool => {
        let done = sqlx::query(AssertSqlSafe(finish)).bind(id).bind(now_micros()).bind(x.to_string()).execute(pool).await.expect("the floor finishes a step");
        assert_eq!(done.rows_affected(), 1, "the claimed step is finished once");
    });
    x
}
