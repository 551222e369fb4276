//! The caller's visibility rule a search may carry to an adapter (SMART App Launch 2.x §3
//! patient scopes; FHIR R4 search.html §3.1.1.6 paging).
//!
//! A caller restricted to some patients searching a type the gateway cannot narrow by a
//! search parameter (outside CompartmentDefinition `patient`: Device, Task, Medication …)
//! is shown only the matches its grants admit; the gateway's post-filter drops the others.
//! Paged by the adapter over every match, such a search would answer short or empty pages
//! with `next` links, telling the caller how many resources it may not see exist. An
//! adapter that can test each match itself (the in-process embedded store) fills each page
//! with up to `_count` admitted matches instead, its paging links counting only those, and
//! says so with [`Visibility::honour`]; the gateway then has nothing left to hide in the
//! paging. An adapter that ignores the rule leaves that to the gateway.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

type Admits = dyn Fn(&str, &str) -> bool + Send + Sync;

/// Which resources the caller of a search may see, as a predicate over one resource's
/// stored JSON text; cheap to clone (shared).
#[derive(Clone)]
pub struct Visibility {
    inner: Arc<Inner>,
}

struct Inner {
    admits: Box<Admits>,
    honoured: AtomicBool,
}

impl Visibility {
    /// A rule: `admits(resource_type, resource_json)` is `true` when the caller may see
    /// that resource (the same decision as the gateway's post-filter).
    pub fn new(admits: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                admits: Box::new(admits),
                honoured: AtomicBool::new(false),
            }),
        }
    }

    /// Whether the caller may see the resource of type `resource_type` whose JSON text is
    /// `resource_json`.
    pub fn admits(&self, resource_type: &str, resource_json: &str) -> bool {
        (self.inner.admits)(resource_type, resource_json)
    }

    /// Called by an adapter whose answer pages only over admitted resources (each page
    /// holds up to `_count` of them, `next` only when another admitted one follows, no
    /// count of the others).
    pub fn honour(&self) {
        self.inner.honoured.store(true, Ordering::Release);
    }

    /// Whether the adapter answered with [`Visibility::honour`].
    pub fn honoured(&self) -> bool {
        self.inner.honoured.load(Ordering::Acquire)
    }
}

impl fmt::Debug for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Visibility")
            .field("honoured", &self.honoured())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::Visibility;

    #[test]
    fn the_rule_is_shared_by_clones_and_honour_is_seen_by_all() {
        let rule = Visibility::new(|rt, json| rt == "Device" && !json.contains("Patient/b"));
        let copy = rule.clone();
        assert!(copy.admits("Device", r#"{"patient":{"reference":"Patient/a"}}"#));
        assert!(!copy.admits("Device", r#"{"patient":{"reference":"Patient/b"}}"#));
        assert!(!rule.honoured());
        copy.honour();
        assert!(rule.honoured());
    }
}
