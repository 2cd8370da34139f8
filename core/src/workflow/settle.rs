//! What the states of a run's steps imply for the rest of the run: the one rule every
//! operation (a step finishing, a retry, a resolve, a replay, a start) ends with.
//!
//! Walking the steps parents first, a waiting or blocked step becomes blocked if a parent
//! failed, was cancelled or is blocked, ready if every parent completed, and waiting
//! otherwise. The run is running while any step is active, completed when every step
//! completed, and failed otherwise.

use super::state::{RunState, StepState};
use super::template::Template;

/// The moves `settle` made: which steps went where, in the order it made them.
pub(crate) type Moves = Vec<(usize, StepState)>;

/// Applies the rule to `states` (by step position); returns the steps it moved and the
/// state the run should be in.
pub(crate) fn settle(template: &Template, states: &mut [StepState]) -> (Moves, RunState) {
    let mut moves = Vec::new();
    for &step in template.order() {
        let now = states[step];
        if !matches!(now, StepState::Waiting | StepState::Blocked) {
            continue;
        }
        let parents = template.parents(step);
        let next = if parents.iter().any(|&parent| matches!(states[parent], StepState::Failed | StepState::Blocked | StepState::Cancelled)) {
            StepState::Blocked
        } else if parents.iter().all(|&parent| states[parent] == StepState::Completed) {
            StepState::Ready
        } else {
            StepState::Waiting
        };
        if next != now {
            states[step] = next;
            moves.push((step, next));
        }
    }
    (moves, outcome(states))
}

fn outcome(states: &[StepState]) -> RunState {
    if states.iter().any(|state| state.is_active()) {
        RunState::Running
    } else if states.iter().all(|&state| state == StepState::Completed) {
        RunState::Completed
    } else {
        RunState::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use StepState::*;

    /// a → b, a → c, (b, c) → d, and e on its own.
    fn diamond() -> Template {
        let steps = json!([
            {"name": "a", "task": "t"},
            {"name": "d", "task": "t", "depends_on": ["b", "c"]},
            {"name": "b", "task": "t", "depends_on": ["a"]},
            {"name": "c", "task": "t", "depends_on": ["a"]},
            {"name": "e", "task": "t"},
        ]);
        Template::from_value(json!({"namespace": "n", "name": "d", "version": "1.0.0", "steps": steps}), "test").unwrap()
    }

    #[test]
    fn a_step_is_ready_once_every_parent_completed() {
        let template = diamond();
        let mut states = [Completed, Waiting, Completed, Running, Running];
        assert_eq!(settle(&template, &mut states), (vec![], RunState::Running));
        states[3] = Completed;
        assert_eq!(settle(&template, &mut states), (vec![(1, Ready)], RunState::Running));
    }

    #[test]
    fn a_failure_blocks_its_descendants_and_fails_the_run_once_the_rest_finished() {
        let template = diamond();
        let mut states = [Failed, Waiting, Waiting, Waiting, Running];
        let (moves, run) = settle(&template, &mut states);
        assert_eq!(moves, vec![(2, Blocked), (3, Blocked), (1, Blocked)]);
        assert_eq!(run, RunState::Running, "e still runs");
        states[4] = Completed;
        assert_eq!(settle(&template, &mut states).1, RunState::Failed);
    }

    #[test]
    fn resolving_the_failed_step_unblocks_what_it_blocked() {
        let template = diamond();
        let mut states = [Completed, Blocked, Blocked, Blocked, Completed];
        let (moves, run) = settle(&template, &mut states);
        assert_eq!(moves, vec![(2, Ready), (3, Ready), (1, Waiting)]);
        assert_eq!(run, RunState::Running);
    }
}
