//! A small `multipart/form-data` reader for message create/edit with attachments: Discord takes
//! the JSON in a `payload_json` part and files in `files[n]` parts.

use bytes::Bytes;

/// One part of a multipart body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// The boundary from a `Content-Type: multipart/form-data; boundary=...` header.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    content_type.split(';').find_map(|param| {
        let (key, value) = param.trim().split_once('=')?;
        key.eq_ignore_ascii_case("boundary")
            .then(|| value.trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn header_param(line: &str, key: &str) -> Option<String> {
    line.split(';').find_map(|param| {
        let (k, v) = param.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Splits a multipart body into parts; malformed parts are skipped.
pub(crate) fn parse(body: &Bytes, boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    let Some(mut cursor) = find(body, delimiter, 0) else {
        return parts;
    };
    loop {
        let start = cursor + delimiter.len();
        if body.get(start..start + 2) == Some(b"--") {
            break;
        }
        let Some(next) = find(body, delimiter, start) else {
            break;
        };
        // The part sits between "\r\n" after the delimiter and "\r\n" before the next one.
        let chunk = &body[start..next];
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let chunk = chunk.strip_suffix(b"\r\n").unwrap_or(chunk);
        if let Some(split) = find(chunk, b"\r\n\r\n", 0) {
            let headers = String::from_utf8_lossy(&chunk[..split]);
            let data_start = start + (chunk.as_ptr() as usize - body[start..].as_ptr() as usize);
            let data = body.slice(data_start + split + 4..data_start + chunk.len());
            let mut part = Part {
                name: String::new(),
                filename: None,
                content_type: None,
                data,
            };
            for line in headers.lines() {
                let Some((key, value)) = line.split_once(':') else {
                    continue;
                };
                if key.trim().eq_ignore_ascii_case("content-disposition") {
                    part.name = header_param(value, "name").unwrap_or_default();
                    part.filename = header_param(value, "filename");
                } else if key.trim().eq_ignore_ascii_case("content-type") {
                    part.content_type = Some(value.trim().to_string());
                }
            }
            parts.push(part);
        }
        cursor = next;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_payload_json_and_a_file() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n",
        );
        let parts = parse(&body, "XyZ");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "payload_json");
        assert_eq!(&parts[0].data[..], b"{\"content\":\"hi\"}");
        assert_eq!(parts[1].filename.as_deref(), Some("a.txt"));
        assert_eq!(&parts[1].data[..], b"hello");
        assert_eq!(
            boundary("multipart/form-data; boundary=XyZ").as_deref(),
            Some("XyZ")
        );
    }
}
