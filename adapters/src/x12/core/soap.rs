//! The SOAP 1.2 + WSDL envelope of CAQH CORE (CORE 270 Connectivity Rule v2.2.0 §4.2):
//! `COREEnvelopeRealTimeRequest` / `COREEnvelopeRealTimeResponse` in namespace
//! `http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd`, credentials in a WS-Security
//! `UsernameToken` (PasswordText) header.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::CoreMessage;

/// The CORE WSDL namespace.
pub const CORE_NS: &str = "http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd";
/// SOAP 1.2 envelope namespace.
pub const SOAP_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// `Content-Type` of a CORE SOAP request (SOAP 1.2, action `RealTimeTransaction`).
pub const CONTENT_TYPE: &str =
    "application/soap+xml; charset=utf-8; action=\"RealTimeTransaction\"";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A SOAP envelope around `message` with root element `root` (`COREEnvelopeRealTimeRequest`
/// or `…Response`); `credentials` become a WS-Security UsernameToken.
pub fn encode(message: &CoreMessage, root: &str, credentials: Option<(&str, &str)>) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{SOAP_NS}\">"
    );
    match credentials {
        Some((user, password)) => xml.push_str(&format!(
            "<soapenv:Header><wsse:Security soapenv:mustUnderstand=\"true\" xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:UsernameToken><wsse:Username>{}</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText\">{}</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header>",
            escape(user),
            escape(password)
        )),
        None => xml.push_str("<soapenv:Header/>"),
    }
    xml.push_str(&format!(
        "<soapenv:Body><cor:{root} xmlns:cor=\"{CORE_NS}\">"
    ));
    for (name, value) in &message.fields {
        xml.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    xml.push_str(&format!(
        "<Payload>{}</Payload>",
        escape(&String::from_utf8_lossy(&message.payload))
    ));
    xml.push_str(&format!("</cor:{root}></soapenv:Body></soapenv:Envelope>"));
    xml.into_bytes()
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    name.rsplit(':').next().unwrap_or("").to_owned()
}

/// Reads a CORE SOAP message: the children of the first element inside `Body`, by local
/// name. The WS-Security header yields `UserName`/`Password` fields.
///
/// Errors: not XML, a SOAP `Fault` (its reason text), no `Body`, or no `Payload`.
pub fn decode(body: &[u8]) -> Result<CoreMessage, String> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut message = CoreMessage::default();
    let mut payload: Option<String> = None;
    let mut text = String::new();
    let mut fault: Option<String> = None;
    loop {
        match reader.read_event_into(&mut buf) {
            Err(e) => return Err(format!("not XML at byte {}: {e}", reader.buffer_position())),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                path.push(local(e.name().as_ref()));
                text.clear();
            }
            Ok(Event::Empty(_)) => {}
            Ok(Event::Text(t)) => {
                text.push_str(&t.decode().map_err(|e| format!("bad XML text: {e}"))?);
            }
            Ok(Event::DocType(_)) => return Err("DTDs are not accepted".into()),
            Ok(Event::CData(c)) => text.push_str(&String::from_utf8_lossy(&c)),
            Ok(Event::GeneralRef(r)) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let resolved = match name.as_str() {
                    "amp" => "&".to_owned(),
                    "lt" => "<".to_owned(),
                    "gt" => ">".to_owned(),
                    "quot" => "\"".to_owned(),
                    "apos" => "'".to_owned(),
                    other => match other
                        .strip_prefix("#x")
                        .map(|h| u32::from_str_radix(h, 16))
                        .or_else(|| other.strip_prefix('#').map(str::parse))
                    {
                        Some(Ok(n)) => char::from_u32(n).map(String::from).unwrap_or_default(),
                        _ => return Err(format!("unknown XML entity &{other};")),
                    },
                };
                text.push_str(&resolved);
            }
            Ok(Event::End(_)) => {
                let name = path.pop().unwrap_or_default();
                let in_fault = path.iter().any(|p| p == "Fault");
                if in_fault
                    && matches!(name.as_str(), "Text" | "faultstring" | "Value")
                    && !text.trim().is_empty()
                {
                    let joined = fault
                        .take()
                        .map_or(text.trim().to_owned(), |f| format!("{f}: {}", text.trim()));
                    fault = Some(joined);
                } else if path.len() >= 2 && path[path.len() - 2] == "Body" {
                    if name == "Payload" {
                        payload = Some(text.clone());
                    } else {
                        message.fields.push((name.clone(), text.trim().to_owned()));
                    }
                } else if path.last().is_some_and(|p| p == "UsernameToken") {
                    let key = if name == "Username" {
                        "UserName"
                    } else {
                        name.as_str()
                    };
                    message
                        .fields
                        .push((key.to_owned(), text.trim().to_owned()));
                }
                text.clear();
            }
            Ok(_) => {}
        }
        buf.clear();
    }
    if let Some(f) = fault {
        return Err(format!("SOAP fault: {f}"));
    }
    let payload = payload.ok_or("the SOAP body holds no CORE Payload")?;
    message.payload = payload.trim().as_bytes().to_vec();
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_soap_envelope() {
        let mut m = CoreMessage::real_time(
            "X12_270_Request_005010X279A1",
            "p-1",
            "2024-05-01T10:00:00Z",
            "S&1",
            "R",
            b"ISA*00*<x>~".to_vec(),
        );
        let xml = encode(&m, "COREEnvelopeRealTimeRequest", Some(("user", "p<w")));
        let text = String::from_utf8_lossy(&xml);
        assert!(text.contains("<SenderID>S&amp;1</SenderID>"), "{text}");
        assert!(text.contains("<wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText\">p&lt;w</wsse:Password>"));
        let back = decode(&xml).expect("decodes");
        m.set("UserName", "user");
        m.set("Password", "p<w");
        let mut expected = m.fields.clone();
        expected.sort();
        let mut got = back.fields.clone();
        got.sort();
        assert_eq!(got, expected);
        assert_eq!(back.payload, b"ISA*00*<x>~");
    }

    #[test]
    fn faults_and_garbage_are_errors() {
        let fault = br#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">UnAuthorized</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>"#;
        assert_eq!(
            decode(fault).expect_err("fault"),
            "SOAP fault: env:Sender: UnAuthorized"
        );
        assert!(decode(b"<a><b>").is_err());
        assert!(decode(b"not xml at all").is_err());
        assert!(
            decode(br#"<Envelope><Body><R><PayloadType>x</PayloadType></R></Body></Envelope>"#)
                .is_err()
        );
    }
}
