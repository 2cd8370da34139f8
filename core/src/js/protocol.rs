//! The IPC protocol between the host and a worker.
//!
//! Frames are a 4-byte little-endian length followed by that many bytes of JSON, so a
//! message can neither be lost in nor mixed with another. Requests carry ids that their
//! replies echo (correlation ids). The first frame a worker sends is `Ready` with
//! [`PROTOCOL_VERSION`]; a host refuses a worker that speaks another version.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::JsError;

pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame either side accepts; it also caps a task's output.
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// Host → worker.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostMessage {
    Execute(ExecuteRequest),
    FetchReply { fetch: u64, result: Result<FetchResponse, String> },
    Ping { nonce: u64 },
    Shutdown,
}

/// Worker → host.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerMessage {
    Ready { protocol: u32, pid: u32 },
    Console { execution: u64, level: String, message: String },
    Fetch { execution: u64, fetch: u64, request: FetchRequest },
    Result { execution: u64, outcome: Result<Value, JsError> },
    Pong { nonce: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExecuteRequest {
    pub execution: u64,
    /// The task's cache key; the worker keeps one compiled context per key.
    pub key: String,
    /// The task's code, sent only when this worker has not compiled `key` yet.
    pub source: Option<String>,
    pub input: Value,
    pub context: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchRequest {
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchResponse {
    pub url: String,
    pub status: u16,
    pub status_text: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

fn encode<T: Serialize>(message: &T) -> std::io::Result<Vec<u8>> {
    let mut frame = vec![0; 4];
    serde_json::to_writer(&mut frame, message)?;
    let length = frame.len() - 4;
    if length > MAX_FRAME_BYTES {
        return Err(std::io::Error::other(format!("message of {length} bytes exceeds the {MAX_FRAME_BYTES}-byte frame limit")));
    }
    frame[..4].copy_from_slice(&(length as u32).to_le_bytes());
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
pub fn write_frame<T: Serialize>(stream: &mut impl Write, message: &T) -> std::io::Result<()> {
    stream.write_all(&encode(message)?)
}

/// Blocking framing, for the worker side. `Ok(None)` at a clean end of stream.
pub fn read_frame<T: for<'de> Deserialize<'de>>(stream: &mut impl Read) -> std::io::Result<Option<T>> {
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
pub async fn write_frame_async<T: Serialize>(stream: &mut (impl AsyncWriteExt + Unpin), message: &T) -> std::io::Result<()> {
    stream.write_all(&encode(message)?).await
}

/// Async framing, for the host side. `Ok(None)` at a clean end of stream.
pub async fn read_frame_async<T: for<'de> Deserialize<'de>>(stream: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Option<T>> {
    let mut header = [0; 4];
    match stream.read_exact(&mut header).await {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    };
    let mut payload = vec![0; check_length(header)?];
    stream.read_exact(&mut payload).await?;
    decode(&payload).map(Some)
}
