//! Resource tracking: a value tied to one of a component's inboxes (Axon's
//! `AdaptiveCommsComponent.trackResource` / `retrieveTrackedResource`).
//!
//! A component that adds an inbox per peer (a server's connection, a
//! fan-out's subscriber) needs to know, when a message arrives on one of them,
//! which peer it belongs to and what it knows about it. Tie that value to the
//! inbox with [`Context::track_resource`]; look it up by the inbox's name with
//! [`Context::resource`] / [`Context::resource_mut`] (say, the name
//! [`Context::any_ready`] gave); take it back with
//! [`Context::take_resource`]. Removing the inbox
//! ([`Context::remove_box`]) drops a value still tied to it, as does the
//! component's end: nothing outlives the box it belongs to.
//!
//! Values are typed: asking for another type than the one tracked is a
//! [`ResourceError::WrongType`], not a panic. The reference's second table
//! (`trackResourceInformation`: a resource mapped to its boxes and more) has
//! no counterpart; keep the boxes' names in the tracked value instead.
//!
//! ```
//! use axon::{Component, System};
//!
//! struct Peer {
//!     name: &'static str,
//!     messages: u32,
//! }
//!
//! let sys = System::new();
//! let c = sys.spawn(Component::new("server"), |mut cx| async move {
//!     let (name, _inbox) = cx.add_inbox::<String>("from_peer");
//!     cx.track_resource(&name, Peer { name: "alice", messages: 0 })?;
//!     cx.resource_mut::<Peer>(&name)?.messages += 1;
//!     assert_eq!(cx.resource::<Peer>(&name)?.name, "alice");
//!     assert_eq!(cx.resource::<Peer>(&name)?.messages, 1);
//!     // Removing the inbox releases what was tied to it.
//!     cx.remove_box(axon::Direction::In, &name)?;
//!     assert!(cx.resource::<Peer>(&name).is_err());
//!     Ok(())
//! });
//! sys.run();
//! assert_eq!(c.outcome(), Some(axon::Outcome::Finished));
//! ```

use std::any::Any;
use std::collections::HashMap;

use crate::component::component::Context;

/// What went wrong tracking a resource. Each case names the component and the
/// inbox.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// The component has no inbox of that name.
    #[error("{component} has no inbox {inbox:?} to tie a resource to; add it first (Context::add_inbox) and use the name it returns")]
    NoSuchInbox {
        /// The component.
        component: String,
        /// The inbox name asked for.
        inbox: String,
    },
    /// A resource is already tied to that inbox (the new value was dropped).
    #[error("{component} already tracks a resource on inbox {inbox:?}; take it back (Context::take_resource) before tracking another")]
    AlreadyTracked {
        /// The component.
        component: String,
        /// The inbox.
        inbox: String,
    },
    /// No resource is tied to that inbox (never tracked, taken back, or the
    /// inbox was removed).
    #[error("{component} tracks no resource on inbox {inbox:?}")]
    NotTracked {
        /// The component.
        component: String,
        /// The inbox.
        inbox: String,
    },
    /// The resource tied to that inbox is of another type.
    #[error("the resource {component} tracks on inbox {inbox:?} is a {actual}, not a {requested}")]
    WrongType {
        /// The component.
        component: String,
        /// The inbox.
        inbox: String,
        /// The type asked for.
        requested: &'static str,
        /// The type tracked.
        actual: &'static str,
    },
}

struct Tracked {
    value: Box<dyn Any + Send + Sync>,
    type_name: &'static str,
}

/// A component's tracked resources, by inbox name. Made on the first
/// [`Context::track_resource`]: a component that tracks nothing pays one
/// pointer in its context.
#[derive(Default)]
#[allow(clippy::box_collection)] // one pointer in every context, not a 48-byte map
pub(crate) struct Resources(Option<Box<HashMap<String, Tracked>>>);

impl Resources {
    /// Forget (drop) the value tied to `inbox`, if any: the inbox is going.
    pub(crate) fn release(&mut self, inbox: &str) {
        if let Some(map) = self.0.as_mut() {
            map.remove(inbox);
        }
    }
}

impl Context {
    fn resource_error(&self, inbox: &str, make: fn(String, String) -> ResourceError) -> ResourceError {
        make(self.me().name().to_string(), inbox.to_string())
    }

    fn tracked(&self, inbox: &str) -> Result<&Tracked, ResourceError> {
        self.resources
            .0
            .as_ref()
            .and_then(|m| m.get(inbox))
            .ok_or_else(|| self.not_tracked(inbox))
    }

    fn not_tracked(&self, inbox: &str) -> ResourceError {
        self.resource_error(inbox, |component, inbox| ResourceError::NotTracked {
            component,
            inbox,
        })
    }

    fn wrong_type<R>(&self, inbox: &str, actual: &'static str) -> ResourceError {
        ResourceError::WrongType {
            component: self.me().name().to_string(),
            inbox: inbox.to_string(),
            requested: std::any::type_name::<R>(),
            actual,
        }
    }

    /// Tie `value` to this component's inbox `inbox` (Axon's `trackResource`):
    /// look it up later by the inbox's name. It is dropped when the inbox is
    /// removed or the component ends, unless taken back first
    /// ([`take_resource`](Self::take_resource)). See [`crate::resource`].
    ///
    /// Fails if there is no such inbox, or if a resource is already tied to it
    /// (`value` is then dropped).
    pub fn track_resource<R: Send + Sync + 'static>(
        &mut self,
        inbox: &str,
        value: R,
    ) -> Result<(), ResourceError> {
        if self.me().any_inbox(inbox).is_err() {
            return Err(
                self.resource_error(inbox, |component, inbox| ResourceError::NoSuchInbox {
                    component,
                    inbox,
                }),
            );
        }
        let map = self.resources.0.get_or_insert_with(Box::default);
        if map.contains_key(inbox) {
            return Err(
                self.resource_error(inbox, |component, inbox| ResourceError::AlreadyTracked {
                    component,
                    inbox,
                }),
            );
        }
        map.insert(
            inbox.to_string(),
            Tracked {
                value: Box::new(value),
                type_name: std::any::type_name::<R>(),
            },
        );
        Ok(())
    }

    /// The resource tied to inbox `inbox` (Axon's `retrieveTrackedResource`).
    pub fn resource<R: 'static>(&self, inbox: &str) -> Result<&R, ResourceError> {
        let t = self.tracked(inbox)?;
        t.value
            .downcast_ref::<R>()
            .ok_or_else(|| self.wrong_type::<R>(inbox, t.type_name))
    }

    /// The resource tied to inbox `inbox`, to change it.
    pub fn resource_mut<R: 'static>(&mut self, inbox: &str) -> Result<&mut R, ResourceError> {
        let actual = self.tracked(inbox)?.type_name;
        if !self.tracked(inbox)?.value.is::<R>() {
            return Err(self.wrong_type::<R>(inbox, actual));
        }
        let t = self
            .resources
            .0
            .as_mut()
            .and_then(|m| m.get_mut(inbox))
            .expect("checked above");
        Ok(t.value.downcast_mut::<R>().expect("type checked above"))
    }

    /// Take back the resource tied to inbox `inbox` and stop tracking it
    /// (Axon's `ceaseTrackingResource`). Asked for the wrong type, it stays
    /// tracked.
    pub fn take_resource<R: 'static>(&mut self, inbox: &str) -> Result<R, ResourceError> {
        let actual = self.tracked(inbox)?.type_name;
        if !self.tracked(inbox)?.value.is::<R>() {
            return Err(self.wrong_type::<R>(inbox, actual));
        }
        let t = self
            .resources
            .0
            .as_mut()
            .and_then(|m| m.remove(inbox))
            .expect("checked above");
        Ok(*t
            .value
            .downcast::<R>()
            .unwrap_or_else(|_| unreachable!("type checked above")))
    }

    /// The names of the inboxes that have a resource tied to them, sorted.
    pub fn tracked_inboxes(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .resources
            .0
            .as_ref()
            .map_or_else(Vec::new, |m| m.keys().cloned().collect());
        names.sort();
        names
    }
}
