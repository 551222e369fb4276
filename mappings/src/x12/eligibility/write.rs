//! [`Eligibility`] → a 270 or 271 transaction set (ST…SE), segments in the order of the
//! 005010X279A1 loops (header BHT; 2000A/2100A; 2000B/2100B; 2000C/2100C/2110C/2120C;
//! 2000D/2100D/2110D/2120D).

use super::model::{Benefit, DateValue, Eligibility, Entity, Member, Rejection};
use crate::MappingError;
use crate::x12::syntax::{Element, Segment};
use crate::x12::writer::transaction_set;

/// The implementation guide both transactions follow.
pub const VERSION: &str = "005010X279A1";

/// Writes `e` as one transaction set with control number `control` (ST02/SE02, 4 to 9
/// characters). `e.transaction` decides 270 (EQ loops) or 271 (AAA and EB loops).
///
/// Errors: a transaction other than 270/271, or a control number of the wrong length.
pub fn write(e: &Eligibility, control: &str) -> Result<Vec<Segment>, MappingError> {
    if !matches!(e.transaction.as_str(), "270" | "271") {
        return Err(MappingError::invalid("x12", "only 270 and 271 are written"));
    }
    if !(4..=9).contains(&control.len()) {
        return Err(MappingError::invalid(
            "x12",
            "ST02 must be 4 to 9 characters",
        ));
    }
    let answer = e.transaction == "271";
    let mut body = vec![Segment::new(
        "BHT",
        &["0022", &e.purpose, &e.reference, &e.date, &e.time],
    )];
    let mut hl = 0usize;
    let mut next_hl =
        |parent: Option<usize>, code: &str, children: bool, body: &mut Vec<Segment>| {
            hl += 1;
            let parent = parent.map(|p| p.to_string()).unwrap_or_default();
            body.push(Segment::new(
                "HL",
                &[
                    &hl.to_string(),
                    &parent,
                    code,
                    if children { "1" } else { "0" },
                ],
            ));
            hl
        };
    let a = next_hl(None, "20", e.receiver.is_some(), &mut body);
    rejections(&mut body, &e.source_rejections, "2000A");
    body.push(name(&e.source));
    body.extend(contacts(&e.source));
    rejections(&mut body, &e.source_rejections, "2100A");
    let Some(receiver) = &e.receiver else {
        return Ok(transaction_set(&e.transaction, control, VERSION, body));
    };
    let b = next_hl(Some(a), "21", e.subscriber.is_some(), &mut body);
    body.push(name(receiver));
    body.extend(qualifiers(receiver));
    rejections(&mut body, &e.receiver_rejections, "2100B");
    body.extend(prv(receiver));
    let Some(subscriber) = &e.subscriber else {
        return Ok(transaction_set(&e.transaction, control, VERSION, body));
    };
    let c = next_hl(Some(b), "22", e.dependent.is_some(), &mut body);
    member(&mut body, subscriber, answer, "2100C");
    if let Some(dependent) = &e.dependent {
        next_hl(Some(c), "23", false, &mut body);
        member(&mut body, dependent, answer, "2100D");
    }
    Ok(transaction_set(&e.transaction, control, VERSION, body))
}

fn rejections(body: &mut Vec<Segment>, all: &[Rejection], loop_id: &str) {
    body.extend(
        all.iter()
            .filter(|r| r.loop_id == loop_id)
            .map(|r| Segment::new("AAA", &[&r.valid_request, "", &r.reason, &r.follow_up])),
    );
}

fn name(e: &Entity) -> Segment {
    Segment::new(
        "NM1",
        &[
            &e.entity_code,
            if e.person { "1" } else { "2" },
            &e.last_or_org,
            &e.first,
            &e.middle,
            "",
            &e.suffix,
            &e.id_qualifier,
            &e.id,
        ],
    )
}

/// REF, N3, N4 after an NM1.
fn qualifiers(e: &Entity) -> Vec<Segment> {
    let mut out: Vec<Segment> = e
        .references
        .iter()
        .map(|(q, v)| Segment::new("REF", &[q, v]))
        .collect();
    if let Some(a) = &e.address {
        if !a.lines.is_empty() {
            let lines: Vec<&str> = a.lines.iter().take(2).map(String::as_str).collect();
            out.push(Segment::new("N3", &lines));
        }
        out.push(Segment::new(
            "N4",
            &[&a.city, &a.state, &a.postal_code, &a.country],
        ));
    }
    out
}

fn prv(e: &Entity) -> Option<Segment> {
    e.provider_code
        .as_ref()
        .map(|(code, taxonomy)| Segment::new("PRV", &[code, "PXC", taxonomy]))
}

fn contacts(e: &Entity) -> Option<Segment> {
    if e.contacts.is_empty() {
        return None;
    }
    let mut values = vec!["IC".to_owned(), String::new()];
    for (q, v) in e.contacts.iter().take(3) {
        values.push(q.clone());
        values.push(v.clone());
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    Some(Segment::new("PER", &refs))
}

fn dtp(d: &DateValue) -> Segment {
    Segment::new("DTP", &[&d.qualifier, &d.format, &d.value])
}

fn member(body: &mut Vec<Segment>, m: &Member, answer: bool, loop_id: &str) {
    body.extend(
        m.traces
            .iter()
            .map(|t| Segment::new("TRN", &[&t.trace_type, &t.number, &t.originator])),
    );
    body.push(name(&m.name));
    body.extend(qualifiers(&m.name));
    if answer {
        rejections(body, &m.rejections, loop_id);
    }
    body.extend(prv(&m.name));
    if !m.birth_date.is_empty() || !m.gender.is_empty() {
        let format = if m.birth_date.is_empty() { "" } else { "D8" };
        body.push(Segment::new("DMG", &[format, &m.birth_date, &m.gender]));
    }
    if let Some(r) = &m.relationship {
        body.push(Segment::new(
            "INS",
            &[
                &r.is_subscriber,
                &r.relationship,
                &r.maintenance_type,
                &r.maintenance_reason,
            ],
        ));
    }
    body.extend(m.dates.iter().map(dtp));
    if !answer {
        for q in &m.inquiries {
            let mut eq = Segment::new("EQ", &[]);
            eq.elements.push(Element::repeated(q.service_types.clone()));
            if let Some((qualifier, code)) = &q.procedure {
                eq.elements
                    .push(Element::composite(vec![qualifier.clone(), code.clone()]));
            }
            body.push(eq);
        }
        return;
    }
    for b in &m.benefits {
        body.extend(benefit(b, loop_id));
    }
}

fn benefit(b: &Benefit, name_loop: &str) -> Vec<Segment> {
    let mut eb = Segment::new("EB", &[&b.code, &b.coverage_level]);
    eb.elements.push(Element::repeated(b.service_types.clone()));
    for v in [
        &b.insurance_type,
        &b.plan_description,
        &b.time_period,
        &b.amount,
        &b.percent,
        &b.quantity_qualifier,
        &b.quantity,
        &b.authorization_required,
        &b.in_network,
    ] {
        eb.elements.push(Element::simple(v.clone()));
    }
    if let Some((q, code)) = &b.procedure {
        eb.elements
            .push(Element::composite(vec![q.clone(), code.clone()]));
    }
    let mut out = vec![eb];
    out.extend(
        b.references
            .iter()
            .map(|(q, v)| Segment::new("REF", &[q, v])),
    );
    out.extend(b.dates.iter().map(dtp));
    let loop_id = name_loop.replace("2100", "2110");
    rejections(&mut out, &b.rejections, &loop_id);
    out.extend(b.messages.iter().map(|m| Segment::new("MSG", &[m])));
    if !b.related.is_empty() {
        out.push(Segment::new("LS", &["2120"]));
        for r in &b.related {
            out.push(name(r));
            out.extend(qualifiers(r).into_iter().filter(|s| s.id != "REF"));
            out.extend(contacts(r));
            out.extend(prv(r));
        }
        out.push(Segment::new("LE", &["2120"]));
    }
    out
}
