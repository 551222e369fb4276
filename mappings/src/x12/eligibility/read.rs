//! 270/271 transaction sets → [`Eligibility`], one per patient, by walking the HL hierarchy
//! (005010X279A1 §2.3: 2000A information source `20`, 2000B receiver `21`, 2000C subscriber
//! `22`, 2000D dependent `23`) and the segments of each loop in order.

use super::model::{
    Address, Benefit, DateValue, Eligibility, Entity, Inquiry, Member, MemberRelationship,
    Rejection, Trace,
};
use crate::MappingError;
use crate::x12::envelope::TransactionSet;
use crate::x12::hierarchy::{Hierarchy, Level};
use crate::x12::syntax::Segment;

/// Reads a 270 or 271 into one [`Eligibility`] per patient (per subscriber without
/// dependents, per dependent), in input order. A 271 rejected above the subscriber level
/// yields one with `subscriber: None` (and `receiver: None` when rejected at 2000A).
///
/// Errors: not a 270/271, no BHT, a broken HL hierarchy or an HL level not of 270/271.
pub fn read(set: &TransactionSet) -> Result<Vec<Eligibility>, MappingError> {
    let transaction = set.id();
    if !matches!(transaction, "270" | "271") {
        return Err(MappingError::invalid(
            "x12",
            format!("transaction set {transaction} is not a 270 or 271"),
        ));
    }
    let h = Hierarchy::of(&set.body)?;
    let bht = h
        .header
        .iter()
        .find(|s| s.id == "BHT")
        .ok_or_else(|| MappingError::invalid("x12", format!("{transaction} without BHT")))?;
    let base = Eligibility {
        transaction: transaction.to_owned(),
        purpose: bht.get(2).to_owned(),
        reference: bht.get(3).to_owned(),
        date: bht.get(4).to_owned(),
        time: bht.get(5).to_owned(),
        ..Default::default()
    };
    if let Some(l) = h
        .levels
        .iter()
        .find(|l| !matches!(l.code, "20" | "21" | "22" | "23"))
    {
        return Err(MappingError::invalid(
            "x12",
            format!(
                "HL {} has level code {:?}, not one of 270/271 (20, 21, 22, 23)",
                l.id, l.code
            ),
        ));
    }
    let mut out = Vec::new();
    for source in h.roots().filter(|l| l.code == "20") {
        let mut e = base.clone();
        let (entity, rejections) = party(source, "A");
        e.source = entity;
        e.source_rejections = rejections;
        let receivers: Vec<&Level<'_>> = h.children(source.id).filter(|l| l.code == "21").collect();
        if receivers.is_empty() {
            out.push(e.clone());
        }
        for receiver in receivers {
            let mut r = e.clone();
            let (entity, rejections) = party(receiver, "B");
            r.receiver = Some(entity);
            r.receiver_rejections = rejections;
            let subscribers: Vec<&Level<'_>> =
                h.children(receiver.id).filter(|l| l.code == "22").collect();
            if subscribers.is_empty() {
                out.push(r.clone());
            }
            for subscriber in subscribers {
                let mut s = r.clone();
                s.subscriber = Some(member(subscriber, "C"));
                let dependents: Vec<&Level<'_>> = h
                    .children(subscriber.id)
                    .filter(|l| l.code == "23")
                    .collect();
                if dependents.is_empty() {
                    out.push(s.clone());
                }
                for dependent in dependents {
                    let mut d = s.clone();
                    d.dependent = Some(member(dependent, "D"));
                    out.push(d);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(MappingError::invalid(
            "x12",
            format!("{transaction} without an HL 20 information source"),
        ));
    }
    Ok(out)
}

/// NM1 → [`Entity`] (without its qualifying segments).
pub(crate) fn nm1(s: &Segment) -> Entity {
    Entity {
        entity_code: s.get(1).to_owned(),
        person: s.get(2) == "1",
        last_or_org: s.get(3).to_owned(),
        first: s.get(4).to_owned(),
        middle: s.get(5).to_owned(),
        suffix: s.get(7).to_owned(),
        id_qualifier: s.get(8).to_owned(),
        id: s.get(9).to_owned(),
        ..Default::default()
    }
}

fn aaa(s: &Segment, loop_id: String) -> Rejection {
    Rejection {
        loop_id,
        valid_request: s.get(1).to_owned(),
        reason: s.get(3).to_owned(),
        follow_up: s.get(4).to_owned(),
    }
}

fn dtp(s: &Segment) -> DateValue {
    DateValue {
        qualifier: s.get(1).to_owned(),
        format: s.get(2).to_owned(),
        value: s.get(3).to_owned(),
    }
}

/// Applies an N3, N4, REF, PRV or PER to `e`; `false` for any other segment.
fn qualify(e: &mut Entity, s: &Segment) -> bool {
    match s.id.as_str() {
        "N3" => {
            let a = e.address.get_or_insert_with(Address::default);
            a.lines.extend(
                [s.get(1), s.get(2)]
                    .into_iter()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        "N4" => {
            let a = e.address.get_or_insert_with(Address::default);
            a.city = s.get(1).to_owned();
            a.state = s.get(2).to_owned();
            a.postal_code = s.get(3).to_owned();
            a.country = s.get(4).to_owned();
        }
        "REF" => e
            .references
            .push((s.get(1).to_owned(), s.get(2).to_owned())),
        "PRV" => e.provider_code = Some((s.get(1).to_owned(), s.get(3).to_owned())),
        "PER" => {
            for n in [3, 5, 7] {
                if !s.get(n + 1).is_empty() {
                    e.contacts
                        .push((s.get(n).to_owned(), s.get(n + 1).to_owned()));
                }
            }
        }
        _ => return false,
    }
    true
}

/// 2000A/2100A or 2000B/2100B: the NM1 with its qualifiers, and AAA (2000x before the NM1,
/// 2100x after it).
fn party(level: &Level<'_>, letter: &str) -> (Entity, Vec<Rejection>) {
    let mut entity = Entity::default();
    let mut rejections = Vec::new();
    let mut named = false;
    for s in level.segments {
        match s.id.as_str() {
            "NM1" if !named => {
                entity = nm1(s);
                named = true;
            }
            "AAA" => {
                let loop_id = format!("{}{letter}", if named { "2100" } else { "2000" });
                rejections.push(aaa(s, loop_id));
            }
            _ => {
                qualify(&mut entity, s);
            }
        }
    }
    (entity, rejections)
}

#[derive(PartialEq)]
enum Mode {
    Name,
    Inquiry,
    Benefit,
    Related,
}

/// 2000C/2100C/2110C/2120C (or the D loops): TRN, NM1 and its qualifiers, DMG, INS, DTP,
/// AAA, then EQ (270) or EB loops with HSD, REF, DTP, AAA, MSG and LS/NM1…/LE (271).
fn member(level: &Level<'_>, letter: &str) -> Member {
    let mut m = Member::default();
    let mut mode = Mode::Name;
    for s in level.segments {
        match (s.id.as_str(), &mode) {
            ("TRN", Mode::Name) => m.traces.push(Trace {
                trace_type: s.get(1).to_owned(),
                number: s.get(2).to_owned(),
                originator: s.get(3).to_owned(),
            }),
            ("NM1", Mode::Name) => m.name = nm1(s),
            ("DMG", _) => {
                m.birth_date = s.get(2).to_owned();
                m.gender = s.get(3).to_owned();
            }
            ("INS", _) => {
                m.relationship = Some(MemberRelationship {
                    is_subscriber: s.get(1).to_owned(),
                    relationship: s.get(2).to_owned(),
                    maintenance_type: s.get(3).to_owned(),
                    maintenance_reason: s.get(4).to_owned(),
                })
            }
            ("DTP", Mode::Name | Mode::Inquiry) => m.dates.push(dtp(s)),
            ("AAA", Mode::Name | Mode::Inquiry) => {
                m.rejections.push(aaa(s, format!("2100{letter}")))
            }
            ("EQ", _) => {
                mode = Mode::Inquiry;
                m.inquiries.push(Inquiry {
                    service_types: s.repeats(1).into_iter().map(str::to_owned).collect(),
                    procedure: composite(s, 2),
                });
            }
            ("EB", _) => {
                mode = Mode::Benefit;
                m.benefits.push(eb(s));
            }
            ("LS", _) => mode = Mode::Related,
            ("LE", _) => mode = Mode::Benefit,
            ("NM1", Mode::Related) => {
                if let Some(b) = m.benefits.last_mut() {
                    b.related.push(nm1(s));
                }
            }
            (_, Mode::Related) => {
                if let Some(e) = m.benefits.last_mut().and_then(|b| b.related.last_mut()) {
                    qualify(e, s);
                }
            }
            (_, Mode::Benefit) => {
                let Some(b) = m.benefits.last_mut() else {
                    continue;
                };
                match s.id.as_str() {
                    "REF" => b
                        .references
                        .push((s.get(1).to_owned(), s.get(2).to_owned())),
                    "DTP" => b.dates.push(dtp(s)),
                    "AAA" => b.rejections.push(aaa(s, format!("2110{letter}"))),
                    "MSG" => b.messages.push(s.get(1).to_owned()),
                    _ => {}
                }
            }
            (_, Mode::Name) => {
                qualify(&mut m.name, s);
            }
            _ => {}
        }
    }
    m
}

fn composite(s: &Segment, n: usize) -> Option<(String, String)> {
    let (q, code) = (s.component(n, 1), s.component(n, 2));
    (!code.is_empty()).then(|| (q.to_owned(), code.to_owned()))
}

fn eb(s: &Segment) -> Benefit {
    Benefit {
        code: s.get(1).to_owned(),
        coverage_level: s.get(2).to_owned(),
        service_types: s.repeats(3).into_iter().map(str::to_owned).collect(),
        insurance_type: s.get(4).to_owned(),
        plan_description: s.get(5).to_owned(),
        time_period: s.get(6).to_owned(),
        amount: s.get(7).to_owned(),
        percent: s.get(8).to_owned(),
        quantity_qualifier: s.get(9).to_owned(),
        quantity: s.get(10).to_owned(),
        authorization_required: s.get(11).to_owned(),
        in_network: s.get(12).to_owned(),
        procedure: composite(s, 13),
        ..Default::default()
    }
}
