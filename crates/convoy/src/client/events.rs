//! Reading a watch: Server-Sent Events (`event: TYPE`, `data: JSON`, blank line) from a
//! streaming response.

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;

use super::{Client, ClientError};

pub struct Events {
    bytes: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl Events {
    /// Opens `path` with `watch=true` added.
    pub async fn open(client: &Client, path: &str) -> Result<Events, ClientError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let response = client.stream(&format!("{path}{separator}watch=true")).await?;
        Ok(Events {
            bytes: response.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec())).boxed(),
            buffer: String::new(),
        })
    }

    /// The next `(type, object)`; `None` when the stream ends.
    pub async fn next(&mut self) -> Option<Result<(String, Value), reqwest::Error>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let mut event_type = "";
                let mut data = String::new();
                for line in event.lines() {
                    if let Some(t) = line.strip_prefix("event:") {
                        event_type = t.trim();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if event_type.is_empty() || data.is_empty() {
                    continue;
                }
                return Some(Ok((event_type.to_owned(), serde_json::from_str(&data).unwrap_or(Value::Null))));
            }
            match self.bytes.next().await? {
                Ok(chunk) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
