//! HL hierarchical levels (ASC X12 "HL" segment, used by 270/271, 837, 276/277): a
//! transaction body cut into loops, each an HL and the segments up to the next HL, linked to
//! its parent by HL02.

use super::syntax::Segment;
use crate::MappingError;

/// One hierarchical level: the HL segment's values and the segments of its loop.
#[derive(Debug, Clone, Copy)]
pub struct Level<'a> {
    /// HL01 hierarchical id number.
    pub id: &'a str,
    /// HL02 parent id; `None` for a top level.
    pub parent: Option<&'a str>,
    /// HL03 level code (270/271: `20` information source, `21` receiver, `22` subscriber,
    /// `23` dependent).
    pub code: &'a str,
    /// HL04: `Some(true)` when children follow, `Some(false)` when none, `None` if absent.
    pub has_children: Option<bool>,
    /// The segments after the HL up to the next HL (or the end of the body).
    pub segments: &'a [Segment],
}

/// A transaction body as a header (segments before the first HL) and its levels, in order.
#[derive(Debug, Clone)]
pub struct Hierarchy<'a> {
    /// Segments before the first HL (e.g. BHT).
    pub header: &'a [Segment],
    /// Every HL loop in input order.
    pub levels: Vec<Level<'a>>,
}

impl<'a> Hierarchy<'a> {
    /// Cuts `body` into HL loops.
    ///
    /// Errors: an HL without HL01, a repeated HL01, or an HL02 naming no earlier HL.
    pub fn of(body: &'a [Segment]) -> Result<Self, MappingError> {
        let starts: Vec<usize> = body
            .iter()
            .enumerate()
            .filter(|(_, s)| s.id == "HL")
            .map(|(i, _)| i)
            .collect();
        let header = &body[..starts.first().copied().unwrap_or(body.len())];
        let mut levels: Vec<Level<'a>> = Vec::with_capacity(starts.len());
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(body.len());
            let hl = &body[start];
            let id = hl.get(1);
            if id.is_empty() {
                return Err(MappingError::invalid(
                    "x12",
                    format!("HL number {} has no HL01", n + 1),
                ));
            }
            if levels.iter().any(|l| l.id == id) {
                return Err(MappingError::invalid(
                    "x12",
                    format!("HL01 {id:?} is used twice"),
                ));
            }
            let parent = Some(hl.get(2)).filter(|p| !p.is_empty());
            if let Some(p) = parent
                && !levels.iter().any(|l| l.id == p)
            {
                return Err(MappingError::invalid(
                    "x12",
                    format!("HL {id:?} names parent {p:?}, which is not an earlier HL"),
                ));
            }
            let has_children = match hl.get(4) {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            };
            levels.push(Level {
                id,
                parent,
                code: hl.get(3),
                has_children,
                segments: &body[start + 1..end],
            });
        }
        Ok(Self { header, levels })
    }

    /// The levels whose parent is `id`, in order.
    pub fn children(&self, id: &str) -> impl Iterator<Item = &Level<'a>> {
        let id = id.to_owned();
        self.levels
            .iter()
            .filter(move |l| l.parent == Some(id.as_str()))
    }

    /// The top levels (no HL02), in order.
    pub fn roots(&self) -> impl Iterator<Item = &Level<'a>> {
        self.levels.iter().filter(|l| l.parent.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::syntax::Delimiters;

    fn body(text: &str) -> Vec<Segment> {
        text.split('~')
            .filter(|s| !s.is_empty())
            .map(|s| Segment::parse(s.as_bytes(), &Delimiters::DEFAULT))
            .collect()
    }

    #[test]
    fn levels_link_to_parents() {
        let b = body(
            "BHT*0022*13~HL*1**20*1~NM1*PR~HL*2*1*21*1~NM1*1P~HL*3*2*22*1~NM1*IL~HL*4*3*23*0~NM1*03~DMG*D8*20100101",
        );
        let h = Hierarchy::of(&b).expect("hierarchy");
        assert_eq!(h.header.len(), 1);
        assert_eq!(h.levels.len(), 4);
        assert_eq!(h.roots().count(), 1);
        let dep: Vec<_> = h.children("3").collect();
        assert_eq!(dep.len(), 1);
        assert_eq!(dep[0].code, "23");
        assert_eq!(dep[0].segments.len(), 2);
        assert_eq!(dep[0].has_children, Some(false));
    }

    #[test]
    fn broken_links_are_errors() {
        assert!(Hierarchy::of(&body("HL*1**20*1~HL*2*9*21*0")).is_err());
        assert!(Hierarchy::of(&body("HL*1**20*1~HL*1**20*0")).is_err());
        assert!(Hierarchy::of(&body("HL**1*20*1")).is_err());
    }
}
