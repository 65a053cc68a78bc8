//! Auto-layout: a layered (Sugiyama-style) drawing of the workflow DAG, left to right. Back edges
//! of a cycle are set aside first, every node goes to the layer after its longest incoming path,
//! nodes inside a layer are ordered by the mean position of their neighbours (a few sweeps down
//! and up, which untangles most crossings), and each layer is stacked and centred. The result is
//! deterministic: the same graph always gets the same positions.

use std::collections::{BTreeMap, HashMap};

use aos_schema::{Catalog, NodeId, Position, WorkflowGraph};

use super::geometry::{NODE_WIDTH, node_shape};

/// Horizontal space between layers.
pub const LAYER_GAP: f64 = 100.0;
/// Vertical space between nodes of one layer.
pub const NODE_GAP: f64 = 40.0;
/// Where the layout starts.
pub const ORIGIN: (f64, f64) = (40.0, 40.0);
/// Ordering sweeps (each one down and one up).
const SWEEPS: usize = 4;

/// The position of every node after layout (in graph order). The graph is not changed; the caller
/// writes the positions (one change in the live doc).
pub fn auto_layout(graph: &WorkflowGraph, catalog: &Catalog) -> Vec<(NodeId, Position)> {
    // one entry per distinct id (a repeated id, an invalid draft, keeps its first node)
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut ids: Vec<&aos_schema::Node> = Vec::new();
    for node in &graph.nodes {
        if !index.contains_key(node.id.as_str()) {
            index.insert(node.id.as_str(), ids.len());
            ids.push(node);
        }
    }
    let n = ids.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in &graph.edges {
        if let (Some(&a), Some(&b)) = (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
            && a != b
            && !succ[a].contains(&b)
        {
            succ[a].push(b);
        }
    }
    let succ = without_back_edges(&succ, &ids, catalog);
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (a, targets) in succ.iter().enumerate() {
        for &b in targets {
            pred[b].push(a);
        }
    }

    let layer = longest_path_layers(&succ, &pred);
    let layers_count = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); layers_count];
    for (v, &l) in layer.iter().enumerate() {
        layers[l].push(v);
    }
    // start from the drawing's current vertical order, then id, so a layout of a laid-out graph
    // stays put
    for members in &mut layers {
        members
            .sort_by(|&a, &b| ids[a].position.y.total_cmp(&ids[b].position.y).then_with(|| ids[a].id.cmp(&ids[b].id)));
    }
    order_layers(&mut layers, &succ, &pred);

    let heights: Vec<f64> = ids.iter().map(|node| node_shape(node, catalog).rect.height).collect();
    let column_height = |members: &Vec<usize>| {
        members.iter().map(|&v| heights[v]).sum::<f64>() + NODE_GAP * members.len().saturating_sub(1) as f64
    };
    let tallest = layers.iter().map(column_height).fold(0.0, f64::max);
    let mut placed = vec![Position::default(); n];
    for (l, members) in layers.iter().enumerate() {
        let x = ORIGIN.0 + l as f64 * (NODE_WIDTH + LAYER_GAP);
        let mut y = ORIGIN.1 + (tallest - column_height(members)) / 2.0;
        for &v in members {
            placed[v] = Position { x, y };
            y += heights[v] + NODE_GAP;
        }
    }
    ids.iter().zip(placed).map(|(node, position)| (node.id.clone(), position)).collect()
}

/// Writes the positions of [`auto_layout`] into the graph.
pub fn apply_layout(graph: &mut WorkflowGraph, positions: &[(NodeId, Position)]) {
    let by_id: BTreeMap<&NodeId, Position> = positions.iter().map(|(id, p)| (id, *p)).collect();
    for node in &mut graph.nodes {
        if let Some(p) = by_id.get(&node.id) {
            node.position = *p;
        }
    }
}

/// The successor lists without the edges that close a cycle, found by a depth-first search that
/// starts at triggers, then at nodes with no predecessor, then anywhere (in node order).
fn without_back_edges(succ: &[Vec<usize>], nodes: &[&aos_schema::Node], catalog: &Catalog) -> Vec<Vec<usize>> {
    let n = succ.len();
    let mut has_pred = vec![false; n];
    succ.iter().flatten().for_each(|&b| has_pred[b] = true);
    let mut roots: Vec<usize> = (0..n).collect();
    roots.sort_by_key(|&v| (!catalog.is_trigger(&nodes[v].kind), has_pred[v], v));
    // 0 = unseen, 1 = on the stack, 2 = done
    let mut state = vec![0u8; n];
    let mut kept: Vec<Vec<usize>> = vec![Vec::new(); n];
    for root in roots {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&w) = succ[v].get(*next) {
                *next += 1;
                match state[w] {
                    0 => {
                        kept[v].push(w);
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    2 => kept[v].push(w),
                    _ => {} // back edge: closes a cycle, left out of the layout
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    kept
}

/// Each node's layer: 0 for sources, else one more than its furthest predecessor.
fn longest_path_layers(succ: &[Vec<usize>], pred: &[Vec<usize>]) -> Vec<usize> {
    let n = succ.len();
    let mut indegree: Vec<usize> = pred.iter().map(Vec::len).collect();
    let mut queue: Vec<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    let mut layer = vec![0usize; n];
    let mut at = 0;
    while let Some(&v) = queue.get(at) {
        at += 1;
        for &w in &succ[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                queue.push(w);
            }
        }
    }
    layer
}

/// Reorders each layer by the mean position of its neighbours in the layer before (sweeping
/// down) and after (sweeping up). Ties keep their order.
fn order_layers(layers: &mut [Vec<usize>], succ: &[Vec<usize>], pred: &[Vec<usize>]) {
    let n = succ.len();
    let mut pos = vec![0.0f64; n];
    let record = |members: &[usize], pos: &mut [f64]| {
        for (i, &v) in members.iter().enumerate() {
            pos[v] = i as f64;
        }
    };
    layers.iter().for_each(|members| record(members, &mut pos));
    for _ in 0..SWEEPS {
        for members in layers.iter_mut().skip(1) {
            reorder(members, pred, &pos);
            record(members, &mut pos);
        }
        let below = layers.len().saturating_sub(1);
        for members in layers.iter_mut().take(below).rev() {
            reorder(members, succ, &pos);
            record(members, &mut pos);
        }
    }
}

fn reorder(members: &mut [usize], neighbours: &[Vec<usize>], pos: &[f64]) {
    let current: HashMap<usize, f64> = members.iter().enumerate().map(|(i, &v)| (v, i as f64)).collect();
    let key = |v: usize| {
        let ns = &neighbours[v];
        if ns.is_empty() { current[&v] } else { ns.iter().map(|&w| pos[w]).sum::<f64>() / ns.len() as f64 }
    };
    members.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(current[&a].total_cmp(&current[&b])));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::geometry::Scene;
    use aos_schema::{Edge, Node, kinds};

    fn pos(layout: &[(NodeId, Position)], id: &str) -> Position {
        layout.iter().find(|(n, _)| n.as_str() == id).map(|(_, p)| *p).unwrap()
    }

    fn diamond() -> WorkflowGraph {
        WorkflowGraph::new()
            .with_node(Node::new("d", kinds::LOGIC_MERGE))
            .with_node(Node::new("c", kinds::LOGIC_DELAY))
            .with_node(Node::new("b", kinds::LOGIC_DELAY))
            .with_node(Node::new("a", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("tail", kinds::LOGIC_DELAY))
            .with_edge(Edge::new("e1", "a", "b"))
            .with_edge(Edge::new("e2", "a", "c"))
            .with_edge(Edge::new("e3", "b", "d"))
            .with_edge(Edge::new("e4", "c", "d"))
            .with_edge(Edge::new("e5", "d", "tail"))
            .with_edge(Edge::new("e6", "a", "tail"))
    }

    #[test]
    fn layers_follow_the_longest_path_left_to_right() {
        let catalog = Catalog::builtin();
        let layout = auto_layout(&diamond(), &catalog);
        let x = |id| pos(&layout, id).x;
        assert_eq!(x("a"), ORIGIN.0);
        assert_eq!(x("b"), x("c"));
        assert!(x("a") < x("b") && x("b") < x("d") && x("d") < x("tail"));
        // the shortcut a -> tail does not pull tail left
        assert_eq!(x("tail"), ORIGIN.0 + 3.0 * (NODE_WIDTH + LAYER_GAP));
    }

    #[test]
    fn no_two_nodes_overlap_and_layout_is_deterministic() {
        let catalog = Catalog::builtin();
        let mut graph = diamond();
        for i in 0..6 {
            let id = format!("x{i}");
            graph.nodes.push(Node::new(id.as_str(), kinds::HTTP_REQUEST));
            graph.edges.push(Edge::new(format!("ex{i}").as_str(), "a", id.as_str()));
        }
        let layout = auto_layout(&graph, &catalog);
        assert_eq!(layout, auto_layout(&graph, &catalog));
        apply_layout(&mut graph, &layout);
        let scene = Scene::build(&graph, &catalog);
        for (i, a) in scene.nodes.iter().enumerate() {
            for b in &scene.nodes[i + 1..] {
                assert!(!a.rect.intersects(&b.rect), "{} overlaps {}", a.id, b.id);
            }
        }
        // laying out a laid-out graph moves nothing
        assert_eq!(auto_layout(&graph, &catalog), layout);
    }

    #[test]
    fn cycles_and_strays_still_get_places() {
        let catalog = Catalog::builtin();
        let graph = WorkflowGraph::new()
            .with_node(Node::new("t", kinds::TRIGGER_MANUAL))
            .with_node(Node::new("p", kinds::LOGIC_DELAY))
            .with_node(Node::new("q", kinds::LOGIC_DELAY))
            .with_node(Node::new("alone", kinds::LOGIC_DELAY))
            .with_edge(Edge::new("e1", "t", "p"))
            .with_edge(Edge::new("e2", "p", "q"))
            .with_edge(Edge::new("e3", "q", "p"))
            .with_edge(Edge::new("e4", "q", "ghost"));
        let layout = auto_layout(&graph, &catalog);
        assert_eq!(layout.len(), 4);
        assert!(pos(&layout, "t").x < pos(&layout, "p").x && pos(&layout, "p").x < pos(&layout, "q").x);
        assert_eq!(pos(&layout, "alone").x, ORIGIN.0);
        assert!(auto_layout(&WorkflowGraph::new(), &catalog).is_empty());
    }

    #[test]
    fn crossings_are_untangled() {
        // a1 -> b2 and a2 -> b1 cross when b is ordered by id; the sweep swaps them
        let catalog = Catalog::builtin();
        let graph = WorkflowGraph::new()
            .with_node(Node::new("a1", kinds::LOGIC_DELAY).with_position(0.0, 0.0))
            .with_node(Node::new("a2", kinds::LOGIC_DELAY).with_position(0.0, 200.0))
            .with_node(Node::new("b1", kinds::LOGIC_DELAY))
            .with_node(Node::new("b2", kinds::LOGIC_DELAY))
            .with_edge(Edge::new("e1", "a1", "b2"))
            .with_edge(Edge::new("e2", "a2", "b1"));
        let layout = auto_layout(&graph, &catalog);
        assert!(pos(&layout, "a1").y < pos(&layout, "a2").y);
        assert!(pos(&layout, "b2").y < pos(&layout, "b1").y);
    }
}
