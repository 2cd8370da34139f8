//! Workflows: templates of named steps with dependencies (a DAG), each step a JavaScript
//! task or a host handler. This module owns the templates: their shape and parsing
//! ([`Template`]), the checks that make a set of steps a DAG (`dag`), and the set of loaded
//! templates by namespace, name and version ([`Templates`]). Runs come later and store
//! [`Template::snapshot`], so a new version never changes a running run.

mod dag;
mod input;
mod settle;
mod state;
mod template;
mod templates;

pub(crate) use input::step_input;
pub(crate) use settle::settle;
pub(crate) use state::refuse;
pub use state::{RunState, StepState};
pub use template::{Retry, Step, Target, Template};
pub use templates::Templates;
