//! The HTTP MIME multipart envelope of CAQH CORE (CORE 270 Connectivity Rule v2.2.0
//! §4.1): a `multipart/form-data` body (RFC 7578) with one part per metadata field and a
//! `Payload` part.

use base64::Engine;

use super::CoreMessage;

/// The body and its `Content-Type` for `message`, parts separated by `boundary` (which must
/// not occur in any value: pass a random one).
pub fn encode(message: &CoreMessage, boundary: &str) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    let mut part = |name: &str, value: &[u8]| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    };
    for (name, value) in &message.fields {
        part(name, value.as_bytes());
    }
    part("Payload", &message.payload);
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The `boundary` parameter of a `multipart/*` Content-Type.
fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| &haystack[i..i + needle.len()] == needle)
}

/// Reads a `multipart/form-data` CORE message. Parts are matched by their
/// `Content-Disposition` name; a `Content-Transfer-Encoding: base64` part is decoded.
///
/// Errors (what is wrong, for a 502 message): not multipart, no boundary, a part without
/// a name, or no `Payload` part.
pub fn decode(content_type: &str, body: &[u8]) -> Result<CoreMessage, String> {
    let boundary = boundary(content_type)
        .ok_or_else(|| format!("Content-Type {content_type:?} is not multipart with a boundary"))?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut message = CoreMessage::default();
    let mut payload = None;
    let mut at = find(body, &delimiter, 0).ok_or("the multipart body has no boundary line")?;
    loop {
        let start = at + delimiter.len();
        if body[start..].starts_with(b"--") {
            break;
        }
        let next = find(body, &delimiter, start).ok_or("the multipart body is not closed")?;
        let part = &body[start..next];
        let part = part
            .strip_prefix(b"\r\n")
            .or_else(|| part.strip_prefix(b"\n"))
            .unwrap_or(part);
        let (head, content) = match find(part, b"\r\n\r\n", 0) {
            Some(i) => (&part[..i], &part[i + 4..]),
            None => {
                let i = find(part, b"\n\n", 0).ok_or("a multipart part has no header end")?;
                (&part[..i], &part[i + 2..])
            }
        };
        let content = content
            .strip_suffix(b"\r\n")
            .or_else(|| content.strip_suffix(b"\n"))
            .unwrap_or(content);
        let head = String::from_utf8_lossy(head);
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .and_then(|l| {
                l.split(';').find_map(|p| {
                    p.trim()
                        .strip_prefix("name=")
                        .map(|n| n.trim_matches('"').to_owned())
                })
            })
            .ok_or("a multipart part has no Content-Disposition name")?;
        let base64 = head.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("content-transfer-encoding") && l.contains("base64")
        });
        let value = if base64 {
            let text: Vec<u8> = content
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("part {name} is not base64: {e}"))?
        } else {
            content.to_vec()
        };
        if name == "Payload" {
            payload = Some(value);
        } else {
            message
                .fields
                .push((name, String::from_utf8_lossy(&value).trim().to_owned()));
        }
        at = next;
    }
    message.payload = payload.ok_or("the CORE message has no Payload part")?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_encoding() {
        let mut m = CoreMessage::real_time(
            "X12_270_Request_005010X279A1",
            "p-1",
            "2024-05-01T10:00:00Z",
            "S",
            "R",
            b"ISA*00~\nIEA*1~".to_vec(),
        );
        m.set("UserName", "fhirgate");
        let (ct, body) = encode(&m, "b0undary");
        assert_eq!(ct, "multipart/form-data; boundary=b0undary");
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("name=\"PayloadType\"\r\n\r\nX12_270_Request_005010X279A1\r\n"),
            "{text}"
        );
        assert_eq!(decode(&ct, &body).expect("decodes"), m);
    }

    #[test]
    fn garbled_multipart_is_an_error_not_a_panic() {
        for (ct, body) in [
            ("text/plain", &b"x"[..]),
            ("multipart/form-data; boundary=x", b"no boundary here"),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Disposition: form-data; name=\"A\"\r\n\r\nv\r\n",
            ),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Disposition: form-data; name=\"A\"\r\n\r\nv\r\n--x--\r\n",
            ),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nno header end--x--",
            ),
        ] {
            assert!(
                decode(ct, body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
