//! The checks that make a template's steps a DAG: unique names, dependencies that name
//! steps of the template, and no cycle. A cycle is named step by step (`a → b → c → a`),
//! since "there is a cycle" alone leaves the user to find it in a long file.

use std::collections::HashMap;

use super::template::Step;
use crate::error::{Error, Result};

/// Refuses duplicate names, unknown dependencies and cycles, naming `origin` and the step;
/// returns the steps' positions in an order where every step comes after its parents.
pub(super) fn check(steps: &[Step], origin: &str) -> Result<Vec<usize>> {
    let refuse = |step: &str, reason: String| Error::InvalidTemplate { origin: origin.to_owned(), step: Some(step.to_owned()), reason };
    let mut index = HashMap::new();
    for (position, step) in steps.iter().enumerate() {
        if index.insert(step.name.as_str(), position).is_some() {
            return Err(refuse(&step.name, "the step name is used twice; step names must be unique in a template".into()));
        }
    }
    for step in steps {
        if let Some(unknown) = step.depends_on.iter().find(|parent| !index.contains_key(parent.as_str())) {
            let known: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
            return Err(refuse(&step.name, format!("depends on `{unknown}`, which is not a step of this template; the steps are {}", known.join(", "))));
        }
    }
    match find_cycle(steps, &index) {
        Some(cycle) => Err(refuse(&cycle[0], format!("the dependencies form a cycle: {}; remove one of these dependencies", cycle.join(" → ")))),
        None => Ok(parents_first(steps, &index)),
    }
}

/// The steps of an acyclic template, each after its parents, otherwise in declaration order.
fn parents_first(steps: &[Step], index: &HashMap<&str, usize>) -> Vec<usize> {
    fn place(step: usize, steps: &[Step], index: &HashMap<&str, usize>, placed: &mut [bool], order: &mut Vec<usize>) {
        if !placed[step] {
            placed[step] = true;
            for parent in &steps[step].depends_on {
                place(index[parent.as_str()], steps, index, placed, order);
            }
            order.push(step);
        }
    }
    let mut placed = vec![false; steps.len()];
    let mut order = Vec::with_capacity(steps.len());
    for step in 0..steps.len() {
        place(step, steps, index, &mut placed, &mut order);
    }
    order
}

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Unvisited,
    OnPath,
    Done,
}

/// The first cycle found by a depth-first walk along `depends_on`, in declaration order,
/// as step names with the first repeated at the end.
fn find_cycle(steps: &[Step], index: &HashMap<&str, usize>) -> Option<Vec<String>> {
    let mut marks = vec![Mark::Unvisited; steps.len()];
    let mut path = Vec::new();
    (0..steps.len()).find_map(|start| visit(start, steps, index, &mut marks, &mut path))
}

fn visit(step: usize, steps: &[Step], index: &HashMap<&str, usize>, marks: &mut [Mark], path: &mut Vec<usize>) -> Option<Vec<String>> {
    match marks[step] {
        Mark::Done => return None,
        Mark::OnPath => {
            let from = path.iter().position(|&on_path| on_path == step).expect("a step on the path is in it");
            return Some(path[from..].iter().chain([&step]).map(|&i| steps[i].name.clone()).collect());
        }
        Mark::Unvisited => {}
    }
    marks[step] = Mark::OnPath;
    path.push(step);
    let cycle = steps[step].depends_on.iter().find_map(|parent| visit(index[parent.as_str()], steps, index, marks, path));
    path.pop();
    marks[step] = Mark::Done;
    cycle
}
