//! The graph's shape: unique ids and names, edges that resolve, no cycles, and as many
//! inputs and outputs as each component's kind takes. Nothing here looks outside the
//! package.

use std::collections::{BTreeSet, HashMap};

use crate::components::{Category, Kind};
use crate::finding::Finding;
use crate::package::{FlowType, Package};

/// The graph by component index: who feeds whom (in edge order), and an order in which
/// every component comes after its inputs. Components on or after a cycle are left out
/// of `order`.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub inputs: Vec<Vec<usize>>,
    pub outputs: Vec<Vec<usize>>,
    pub order: Vec<usize>,
}

pub(crate) fn check(package: &Package, flow_type: FlowType, findings: &mut Vec<Finding>) -> Graph {
    let n = package.components.len();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, c) in package.components.iter().enumerate() {
        if c.id.is_empty() {
            continue;
        }
        if let Some(&first) = by_id.get(c.id.as_str()) {
            findings.push(Finding::error(
                &c.name,
                Some("id"),
                format!(
                    "id `{}` is also the id of `{}`",
                    c.id, package.components[first].name
                ),
                "give each component its own id",
            ));
        } else {
            by_id.insert(&c.id, i);
        }
        if let Some(&first) = by_name.get(c.name.as_str()) {
            if first != i {
                findings.push(Finding::error(
                    &c.name,
                    Some("name"),
                    format!("another component is also named `{}`", c.name),
                    "give each component its own name; changes address components by name",
                ));
            }
        } else {
            by_name.insert(&c.name, i);
        }
        let task = c.component_type.category == Category::WorkflowTask;
        match (flow_type, task) {
            (FlowType::Dataflow, true) => findings.push(Finding::error(
                &c.name,
                None,
                format!("{} is a workflow task, and this is a dataflow package", c.component_type.name),
                "move it to a workflow package, or use sources, transformations and destinations here",
            )),
            (FlowType::Workflow, false) => findings.push(Finding::error(
                &c.name,
                None,
                format!("{} belongs in a dataflow; a workflow holds tasks", c.component_type.name),
                "put it in a dataflow package and run that package with a run_package_task",
            )),
            _ => {}
        }
    }

    let mut graph = Graph {
        inputs: vec![Vec::new(); n],
        outputs: vec![Vec::new(); n],
        order: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for (e_index, e) in package.edges.iter().enumerate() {
        let label = format!("edges[{e_index}]");
        let ends = (by_id.get(e.source.as_str()), by_id.get(e.target.as_str()));
        let (s, t) = match ends {
            (Some(&s), Some(&t)) => (s, t),
            _ => {
                let missing: Vec<&str> = [(&e.source, ends.0), (&e.target, ends.1)]
                    .into_iter()
                    .filter(|(_, found)| found.is_none())
                    .map(|(id, _)| id.as_str())
                    .collect();
                if !missing.iter().all(|id| package.unreadable.contains(*id)) {
                    findings.push(Finding::package_error(
                        Some(&label),
                        format!(
                            "edge {} → {} names no component with id {}",
                            e.source,
                            e.target,
                            missing
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                        "point the edge at existing component ids, or remove it",
                    ));
                }
                continue;
            }
        };
        if s == t {
            findings.push(Finding::error(
                &package.components[s].name,
                None,
                "has an edge to itself (a cycle)",
                format!("remove edge {label}"),
            ));
            continue;
        }
        if !seen.insert((s, t)) {
            findings.push(Finding::package_warning(
                format!("edge {} → {} is listed twice", e.source, e.target),
                format!("remove the duplicate, {label}"),
            ));
            continue;
        }
        if flow_type == FlowType::Dataflow && e.condition.is_some() {
            findings.push(Finding::package_warning(
                format!(
                    "edge {} → {} has a condition; only workflow edges have one",
                    e.source, e.target
                ),
                format!("remove `condition` from {label}"),
            ));
        }
        graph.inputs[t].push(s);
        graph.outputs[s].push(t);
    }

    for (i, c) in package.components.iter().enumerate() {
        arity(
            c.kind(),
            &c.name,
            graph.inputs[i].len(),
            graph.outputs[i].len(),
            findings,
        );
    }
    graph.order = order(&graph, package, findings);

    if flow_type == FlowType::Dataflow {
        if n == 0 && package.unreadable.is_empty() {
            findings.push(Finding::package_warning(
                "the package has no components",
                "add a source, transformations and a destination",
            ));
        } else if n > 0
            && !package
                .components
                .iter()
                .any(|c| c.component_type.category == Category::Destination)
        {
            findings.push(Finding::package_warning(
                "the package has no destination, so a run writes nothing",
                "add a destination component and an edge into it",
            ));
        }
    }
    graph
}

fn plural(n: u32, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn arity(kind: Kind, name: &str, inputs: usize, outputs: usize, findings: &mut Vec<Finding>) {
    let (i, o) = (kind.inputs(), kind.outputs());
    let (inputs, outputs) = (inputs as u32, outputs as u32);
    if inputs < i.min || i.max.is_some_and(|m| inputs > m) {
        let wanted = match i.max {
            Some(m) if m == i.min => plural(m, "input"),
            _ => format!("at least {}", plural(i.min, "input")),
        };
        let fix = if i.max == Some(0) {
            "remove the edges into it; a source reads, it is not fed".to_string()
        } else if inputs < i.min {
            "add an edge from the component that feeds it".to_string()
        } else {
            "remove the extra edges into it (a union takes several inputs)".to_string()
        };
        findings.push(Finding::error(
            name,
            None,
            format!("a {} takes {wanted}; it has {inputs}", kind.as_str()),
            fix,
        ));
    }
    if o.max.is_some_and(|m| outputs > m) {
        let fix = if o.max == Some(0) {
            "remove the edges out of it; a destination ends a flow"
        } else {
            "send its output to one component; use a clone component to fan out"
        };
        findings.push(Finding::error(
            name,
            None,
            format!(
                "a {} has at most {}; it has {outputs}",
                kind.as_str(),
                plural(o.max.unwrap_or(0), "output")
            ),
            fix,
        ));
    } else if outputs < o.min {
        findings.push(Finding::warning(
            name,
            None,
            "its rows go nowhere",
            "connect it to a transformation or a destination, or remove it",
        ));
    }
}

/// Kahn's order; components left over are on a cycle or after one. Each one on a cycle
/// gets an error naming the others.
fn order(graph: &Graph, package: &Package, findings: &mut Vec<Finding>) -> Vec<usize> {
    let n = graph.inputs.len();
    let mut pending: Vec<usize> = graph.inputs.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..n).filter(|i| pending[*i] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        for &t in graph.outputs[i].iter().rev() {
            pending[t] -= 1;
            if pending[t] == 0 {
                ready.push(t);
            }
        }
    }
    if order.len() == n {
        return order;
    }
    // Of the rest, peel off those that only lead out of the cycle: what remains is on one.
    let mut left: BTreeSet<usize> = (0..n).filter(|i| pending[*i] > 0).collect();
    loop {
        let leaf: Vec<usize> = left
            .iter()
            .copied()
            .filter(|i| !graph.outputs[*i].iter().any(|t| left.contains(t)))
            .collect();
        if leaf.is_empty() {
            break;
        }
        for i in leaf {
            left.remove(&i);
        }
    }
    for &i in &left {
        let others: Vec<&str> = left
            .iter()
            .filter(|j| **j != i)
            .map(|j| package.components[*j].name.as_str())
            .collect();
        findings.push(Finding::error(
            &package.components[i].name,
            None,
            format!("is on a cycle with {}", others.join(", ")),
            "remove an edge so that rows flow one way, from sources to destinations",
        ));
    }
    order
}
