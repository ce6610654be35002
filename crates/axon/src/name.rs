//! [`Name`]: the name of a component or box, free to clone and free to make from
//! a string literal.
//!
//! Every component and box carries a name for linking by name, error messages and
//! introspection. Names are usually literals (`"inbox"`, `"producer"`), so a
//! `Name` borrows a `&'static str` without allocating and shares one allocation
//! otherwise. This matters when a system holds a million components.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A cheaply cloned string: a literal, or a shared allocation.
#[derive(Clone)]
pub struct Name(Repr);

///
/// Two words: a shared name is an `Arc<String>` (one word) rather than an
/// `Arc<str>` (two), so the enum fits in the literal's pointer and length.
#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<String>),
}

impl Name {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Name {
    fn from(s: &'static str) -> Self {
        Name(Repr::Static(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name(Repr::Shared(Arc::new(s)))
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Self {
        Name(Repr::Shared(Arc::new(s.clone())))
    }
}

impl From<Arc<str>> for Name {
    fn from(s: Arc<str>) -> Self {
        Name(Repr::Shared(Arc::new(String::from(&*s))))
    }
}

/// String equality, answering at once when both are the same bytes in memory
/// (a literal looked up by the same literal: `cx.inbox::<T>("inbox")` finding the
/// box declared as `"inbox"`), which skips a `memcmp` call on the spawn path.
#[inline]
fn same_str(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        same_str(self.as_str(), other.as_str())
    }
}
impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        same_str(self.as_str(), other)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
