//! Event subscriptions: `Cogwork::Native::Engine#subscribe(names)` returns a
//! `Cogwork::Native::Subscription`, whose `next_batch` a Ruby thread calls in a loop (with the
//! GVL released while it waits) to run its subscribers, as handler threads pull jobs.

use std::sync::Mutex;

use cogwork_core::queue::{Event, Subscription as CoreSubscription};
use magnus::{method, Class, Error, Module, RArray, RClass, RModule, Ruby};

use crate::engine::{seconds, Engine};
use crate::{errors, nogvl, records};

/// Used by the one Ruby thread that runs its subscribers: the lock is held while it waits.
#[magnus::wrap(class = "Cogwork::Native::Subscription", free_immediately, size)]
pub struct Subscription {
    subscription: Mutex<CoreSubscription>,
}

pub fn define(ruby: &Ruby, native: RModule, engine: RClass) -> Result<(), Error> {
    engine.define_method("subscribe", method!(Engine::subscribe, 1))?;
    let class = native.define_class("Subscription", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("next_batch", method!(Subscription::next_batch, 2))?;
    Ok(())
}

impl Engine {
    /// `subscribe(["job.completed", "step.*"])`: events from now on whose name matches.
    fn subscribe(ruby: &Ruby, rb_self: &Self, names: Vec<String>) -> Result<Subscription, Error> {
        let subscription = rb_self.engine(ruby)?.subscribe(names).map_err(|e| errors::to_ruby(ruby, e))?;
        Ok(Subscription { subscription: Mutex::new(subscription) })
    }
}

impl Subscription {
    /// `next_batch(max, wait_seconds)` → up to `max` events as Hashes (records.rs), waiting
    /// up to `wait` for the first with the GVL released.
    fn next_batch(ruby: &Ruby, rb_self: &Self, max: usize, wait: f64) -> Result<RArray, Error> {
        let wait = seconds(ruby, wait, "wait")?;
        let events: Vec<std::sync::Arc<Event>> = {
            let mut subscription = rb_self.subscription.lock().unwrap_or_else(|p| p.into_inner());
            nogvl::block_on(subscription.next_batch(max, wait))?
        };
        let array = ruby.ary_new_capa(events.len());
        for event in &events {
            array.push(records::event(ruby, event)?)?;
        }
        Ok(array)
    }
}
