//! A Bot API call's parameters, however they came: query string, JSON body,
//! urlencoded form or multipart (teloxide sends uploads as multipart, with
//! `document=attach://<part>` pointing at the file part), read leniently the
//! way Telegram reads them ("123" and 123 are the same `chat_id`).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::api::ApiError;

/// An uploaded file part.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// A file parameter: an upload or an existing `file_id` (or URL).
pub(crate) enum InputFile {
    Upload(Upload),
    Id(String),
}

#[derive(Debug, Default)]
pub(crate) struct Params {
    pub fields: Map<String, Value>,
    pub files: HashMap<String, Upload>,
}

impl Params {
    /// A string parameter (numbers and booleans are given as text).
    pub(crate) fn str(&self, key: &str) -> Option<String> {
        match self.fields.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// An integer parameter, from a number or a numeric string.
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("invalid {key} specified"))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid {key} specified"))),
            Some(_) => Err(ApiError::bad_request(format!("invalid {key} specified"))),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> bool {
        match self.fields.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.as_str(), "true" | "True" | "1"),
            Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
            _ => false,
        }
    }

    /// A JSON-serialized parameter (`reply_markup`, `allowed_updates`, …):
    /// a JSON value in a JSON body, JSON text in a form.
    pub(crate) fn json(&self, key: &str) -> Result<Option<Value>, ApiError> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("can't parse {key} JSON object"))),
            Some(other) => Ok(Some(other.clone())),
        }
    }

    /// The required `chat_id`: a number; `@username`s are unknown to the double.
    pub(crate) fn chat_id(&self) -> Result<i64, ApiError> {
        match self.fields.get("chat_id") {
            None | Some(Value::Null) => Err(ApiError::bad_request("chat_id is empty")),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(ApiError::bad_request("chat_id is empty"))
            }
            Some(Value::String(s)) if s.starts_with('@') => {
                Err(ApiError::bad_request("chat not found"))
            }
            _ => self
                .int("chat_id")?
                .ok_or_else(|| ApiError::bad_request("chat_id is empty")),
        }
    }

    pub(crate) fn message_id(&self) -> Result<i64, ApiError> {
        self.int("message_id")?
            .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))
    }

    /// A file parameter: a part with that name, `attach://<name>`, or a `file_id`.
    pub(crate) fn input_file(&self, key: &str) -> Option<InputFile> {
        if let Some(upload) = self.files.get(key) {
            return Some(InputFile::Upload(upload.clone()));
        }
        let value = self.str(key)?;
        if let Some(part) = value.strip_prefix("attach://") {
            return self.files.get(part).cloned().map(InputFile::Upload);
        }
        if value.is_empty() {
            None
        } else {
            Some(InputFile::Id(value))
        }
    }
}

/// Reads a request's parameters. Bodies above `max_body` are read to the end
/// (so the client sees the answer rather than a reset) and refused with 413.
pub(crate) async fn extract(req: Request, max_body: u64) -> Result<Params, ApiError> {
    let (parts, body) = req.into_parts();
    let mut params = Params::default();
    if let Some(query) = parts.uri.query() {
        for (key, value) in parse_urlencoded(query) {
            params.fields.insert(key, Value::String(value));
        }
    }
    let bytes = read_limited(body, max_body).await?;
    if bytes.is_empty() {
        return Ok(params);
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::bad_request("can't parse JSON request body"))?;
        match value {
            Value::Object(map) => params.fields.extend(map),
            _ => return Err(ApiError::bad_request("JSON request body must be an object")),
        }
    } else if content_type.starts_with("multipart/form-data") {
        let req = Request::from_parts(parts, Body::from(bytes));
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("can't parse multipart body: {e}")))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("can't parse multipart body: {e}")))?
        {
            let Some(name) = field.name().map(str::to_owned) else {
                continue;
            };
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let data = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request(format!("can't parse multipart body: {e}")))?;
            if file_name.is_some() {
                params.files.insert(
                    name,
                    Upload {
                        file_name,
                        content_type,
                        bytes: data,
                    },
                );
            } else {
                let text = String::from_utf8_lossy(&data).into_owned();
                params.fields.insert(name, Value::String(text));
            }
        }
    } else {
        // application/x-www-form-urlencoded (or no content type at all).
        let text = String::from_utf8_lossy(&bytes);
        for (key, value) in parse_urlencoded(&text) {
            params.fields.insert(key, Value::String(value));
        }
    }
    Ok(params)
}

/// Reads a whole body; past `max` it keeps draining but answers 413.
pub(crate) async fn read_limited(body: Body, max: u64) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let mut total: u64 = 0;
    let mut too_big = false;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("can't read request body: {e}")))?;
        total += chunk.len() as u64;
        if total > max {
            too_big = true;
            buf = BytesMut::new();
        } else {
            buf.extend_from_slice(&chunk);
        }
    }
    if too_big {
        return Err(ApiError::entity_too_large());
    }
    Ok(buf.freeze())
}

/// `a=1&b=x%20y` → pairs, with `+` as space.
pub(crate) fn parse_urlencoded(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&key.replace('+', " ")),
                percent_decode(&value.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub(crate) fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(
            percent_decode("documents%2Ffile_1.pdf"),
            "documents/file_1.pdf"
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(
            parse_urlencoded("chat_id=5&text=hello+w%C3%B6rld"),
            vec![
                ("chat_id".into(), "5".into()),
                ("text".into(), "hello wörld".into())
            ]
        );
    }
}
