//! The cardinality merge: over everything a host has been seen to serve, a position that holds
//! many distinct unprotected literals under the same prefix becomes a parameter
//! (`/users/alice`, `/users/bob`, … → `/users/{user}`).
//!
//! The templates of a host form a tree of segments, walked from the root. At each node the
//! literal children that are unprotected literals or English words are the candidates (built-in
//! literals such as `me`, versions and literals named by a rule never merge: "constants before
//! parameters"). They merge into the node's parameter child when all of these hold:
//! - in the first segment or right after the version prefix (`api`, `rest`, `v1`, `1.0`, a
//!   date…), where `/v1/customers` and `/api/chat.postMessage` stay, only siblings with the same
//!   sub-resources merge (`/<tenant>/users`, `/<tenant>/clients`);
//! - at least [`MergeSettings::min_distinct`] candidates share the position;
//! - where observations carry response field signatures ([`Observed::fields`]), enough of the
//!   candidates agree on them for the same method and sub-path
//!   ([`MergeSettings::min_field_agreement`]): a candidate whose response brings mostly fields
//!   that none of its siblings shows disagrees and stays its own endpoint (`/faq/related` next
//!   to `/faq/{faq}`); one that only lacks optional fields agrees;
//! - the subtrees below them do not differ: siblings that are mostly words and lead to different
//!   sub-resources named by words are a family of literals, however many
//!   (`/databases/{id}/backups/{b}`, `/databases/{id}/users/{u}`, `/databases/{id}/firewall`);
//! - they look like values: mostly not English words ([`MergeSettings::max_word_share`]), or with
//!   light traffic compared to the endpoint above ([`MergeSettings::max_value_traffic`]), or
//!   leading to the same sub-resources ([`MergeSettings::min_shared_children`]: every repository
//!   has `issues` and `pulls`; `issues` and `actions` have different children), however hot each
//!   of them is. Four or more siblings with the very same two or more sub-resources, or with
//!   one sub-resource and the very same long chain below it, merge even below
//!   [`MergeSettings::min_distinct`]; so do siblings that lead through values of their own to
//!   the same sub-resources (`/<type>/<name>/metrics`).
//!
//! The evidence is the position's own: how many distinct siblings, their spread of traffic and
//! the shape of their subtrees, never the traffic of unrelated routes.
//!
//! A word with far more traffic than its sibling values ([`MergeSettings::constant_traffic`])
//! stays a constant next to the parameter. Merging moves the candidates' subtrees under the
//! parameter, so positions below pool their values and merge in turn (the `{repo}` of
//! `/repos/{owner}/{repo}`); parameters that meet at one position become one parameter of the
//! unified type. The walk repeats until nothing changes. Rules ([`HostRules`]) are applied to every
//! template first and win over merges. The defaults were chosen with the accuracy benchmark
//! (`docs/discovery-accuracy.md`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::model::segment::{self, Kind, ParamType};
use crate::model::template::{self, Builder, HostRules, Segment, Template, templatize};

/// One endpoint a host was seen to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The request method.
    pub method: String,
    /// The template, plain (`/users/{userId}`) or annotated (`/users/{userId:integer}`).
    pub template: String,
    /// How many exchanges it had.
    pub hits: u64,
    /// A signature of the response's field names (for example a hash of the sorted top-level
    /// JSON keys), used to confirm that sibling literals are values of one parameter.
    pub fields: Option<u64>,
}

/// Thresholds of the cardinality merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeSettings {
    /// The least number of distinct literals at one position for it to become a parameter.
    pub min_distinct: usize,
    /// Literals look like values when at most this share of them are English words.
    pub max_word_share: f64,
    /// With field signatures: the least share of the literals (among those with a signature to
    /// compare) that agree with the others.
    pub min_field_agreement: f64,
    /// A word that arrives beside a parameter joins it only when its responses overlap those of
    /// the parameter's values at least this much (Jaccard similarity of the field sets) for
    /// every method and sub-path they share.
    pub min_field_similarity: f64,
    /// Literals look like values when the median of their busiest endpoint's hits is at most
    /// this share of the hits of the endpoint above them: a parameter's values share their
    /// operation's traffic, a fixed path has all of it.
    pub max_value_traffic: f64,
    /// Literals look like values when at least this share of their sub-resources (literal
    /// children) also appear under two other literals.
    pub min_shared_children: f64,
    /// A word whose busiest endpoint has this many times the median hits of its siblings stays its
    /// own endpoint next to the parameter.
    pub constant_traffic: f64,
    /// The most passes over the tree.
    pub max_rounds: usize,
}

impl Default for MergeSettings {
    fn default() -> Self {
        MergeSettings {
            min_distinct: 8,
            max_word_share: 0.5,
            min_field_agreement: 0.6,
            min_field_similarity: 0.4,
            max_value_traffic: 0.25,
            constant_traffic: 4.0,
            min_shared_children: 0.7,
            max_rounds: 4,
        }
    }
}

/// Returns `(method, old template, new template)` for every observed template that changes; the
/// new template is annotated with parameter types (`/users/{user:string}`; read it with
/// [`Template::parse`]). Deterministic; iterates to a fixed point. Unparsable templates are left
/// alone.
pub fn merge(
    observed: &[Observed],
    rules: &HostRules,
    settings: &MergeSettings,
) -> Vec<(String, String, String)> {
    // Current annotated template of each input.
    let mut current: Vec<Option<Template>> = observed
        .iter()
        .map(|o| Template::parse(&o.template).map(|t| templatize(&t.annotated(), rules)))
        .collect();
    let mut values = HashSet::new();
    for _ in 0..settings.max_rounds.max(1) {
        let mut forest = Forest {
            values: std::mem::take(&mut values),
            ..Forest::default()
        };
        for (i, (o, t)) in observed.iter().zip(&current).enumerate() {
            if let Some(t) = t {
                forest.insert(i, o, t);
            }
        }
        forest.process(0, &mut Vec::new(), &mut Vec::new(), rules, settings);
        values = std::mem::take(&mut forest.values);
        let next = forest.templates(observed.len());
        let changed = next.iter().zip(&current).any(|(n, c)| {
            n.as_ref().map(Template::annotated) != c.as_ref().map(Template::annotated)
        });
        current = next
            .into_iter()
            .zip(current)
            .map(|(n, c)| n.or(c))
            .collect();
        if !changed {
            break;
        }
    }
    let mut changes = Vec::new();
    for (o, t) in observed.iter().zip(&current) {
        let (Some(from), Some(to)) = (Template::parse(&o.template), t) else {
            continue;
        };
        let input_annotated = from.annotated() == o.template;
        let differs =
            from.as_str() != to.as_str() || (input_annotated && from.annotated() != to.annotated());
        if differs {
            changes.push((o.method.clone(), o.template.clone(), to.annotated()));
        }
    }
    changes
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Literal(String),
    Param { prefix: String, suffix: String },
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<Key, usize>,
    /// Inputs whose template ends here.
    ends: Vec<End>,
    kind: Option<ParamType>,
    names: BTreeSet<String>,
}

#[derive(Debug)]
struct Candidate {
    text: String,
    node: usize,
    word: bool,
    /// Hits per endpoint under it.
    density: f64,
    /// Hits of everything under it.
    hits: u64,
}

#[derive(Debug)]
struct End {
    input: usize,
    method: String,
    hits: u64,
    fields: Option<u64>,
}

#[derive(Debug)]
struct Forest {
    nodes: Vec<Node>,
    /// Per node with several children, how many of its children have each literal grandchild,
    /// taken before any of them is merged (see [`Forest::recurring_in_cousins`]).
    grandchildren: HashMap<usize, HashMap<String, usize>>,
    /// The literals merged into parameters so far, in this round and the rounds before: the
    /// host's pool of values (see [`Forest::merge_known`]).
    values: HashSet<String>,
}

impl Default for Forest {
    fn default() -> Self {
        Forest {
            nodes: vec![Node::default()],
            grandchildren: HashMap::new(),
            values: HashSet::new(),
        }
    }
}

impl Forest {
    fn insert(&mut self, input: usize, observed: &Observed, template: &Template) {
        let mut node = 0;
        for segment in template.segments() {
            let (key, param) = match segment {
                Segment::Literal(text) => (Key::Literal(text.clone()), None),
                Segment::Param {
                    index,
                    prefix,
                    suffix,
                } => (
                    Key::Param {
                        prefix: prefix.clone(),
                        suffix: suffix.clone(),
                    },
                    Some(&template.params()[*index]),
                ),
            };
            node = self.child(node, key);
            if let Some(param) = param {
                let n = &mut self.nodes[node];
                n.kind = Some(n.kind.map_or(param.kind, |k| k.unify(param.kind)));
                n.names.insert(param.name.clone());
            }
        }
        self.nodes[node].ends.push(End {
            input,
            method: observed.method.to_ascii_uppercase(),
            hits: observed.hits,
            fields: observed.fields,
        });
    }

    fn child(&mut self, node: usize, key: Key) -> usize {
        if let Some(&child) = self.nodes[node].children.get(&key) {
            return child;
        }
        let child = self.nodes.len();
        self.nodes.push(Node::default());
        self.nodes[node].children.insert(key, child);
        child
    }

    /// Moves everything under `src` into `dst`.
    fn absorb(&mut self, dst: usize, src: usize) {
        let ends = std::mem::take(&mut self.nodes[src].ends);
        self.nodes[dst].ends.extend(ends);
        let names = std::mem::take(&mut self.nodes[src].names);
        self.nodes[dst].names.extend(names);
        if let Some(kind) = self.nodes[src].kind {
            let d = &mut self.nodes[dst];
            d.kind = Some(d.kind.map_or(kind, |k| k.unify(kind)));
        }
        let children = std::mem::take(&mut self.nodes[src].children);
        for (key, child) in children {
            match self.nodes[dst].children.get(&key) {
                Some(&existing) => self.absorb(existing, child),
                None => {
                    self.nodes[dst].children.insert(key, child);
                }
            }
        }
    }

    /// Walks the tree from `node`; `ancestors` are the nodes above it, nearest last.
    fn process(
        &mut self,
        node: usize,
        path: &mut Vec<Key>,
        ancestors: &mut Vec<usize>,
        rules: &HostRules,
        settings: &MergeSettings,
    ) {
        if mergeable_position(path) {
            self.merge_children(node, path, ancestors, rules, settings, Position::Inner);
        } else {
            if !path.is_empty() {
                // Right after the version prefix, resources named before a custom method merge
                // (`/v1beta/<resource>:lookupEffectiveGuestPolicy` for many resources): a custom
                // method acts on a resource, and many distinct ones with the same method are
                // values.
                self.merge_children(node, path, ancestors, rules, settings, Position::Verbs);
            }
            // The first segment and the one after the version prefix hold the top-level
            // resources (`/users`, `/v1/customers`), so only the strongest evidence merges
            // there: siblings with the same sub-resources are the values of a leading
            // parameter (`/<tenant>/users`, `/<tenant>/clients` for every tenant).
            let position = match after_named_version(path) {
                true => Position::Named,
                false => Position::Leading,
            };
            self.merge_children(node, path, ancestors, rules, settings, position);
        }
        let children: Vec<(Key, usize)> = self.nodes[node]
            .children
            .iter()
            .map(|(k, &c)| (k.clone(), c))
            .collect();
        if children.len() >= 2 {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for (_, child) in &children {
                for key in self.nodes[*child].children.keys() {
                    if let Key::Literal(text) = key {
                        *counts.entry(text.clone()).or_default() += 1;
                    }
                }
            }
            self.grandchildren.insert(node, counts);
        }
        ancestors.push(node);
        for (key, child) in children {
            path.push(key);
            self.process(child, path, ancestors, rules, settings);
            path.pop();
        }
        ancestors.pop();
    }

    fn merge_children(
        &mut self,
        node: usize,
        path: &[Key],
        ancestors: &[usize],
        rules: &HostRules,
        settings: &MergeSettings,
        position: Position,
    ) {
        let mut group: Vec<Candidate> = Vec::new();
        for (key, &child) in &self.nodes[node].children {
            let Key::Literal(text) = key else { continue };
            if position == Position::Verbs && segment::split_verb(text).is_none() {
                continue;
            }
            if !rule_keeps(rules, path, text)
                && let Some(candidate) = self.candidate(text, child, position == Position::Inner)
            {
                group.push(candidate);
            }
        }
        let group = self.join_late_values(node, group, settings);
        let group = self.merge_numbered(node, group, settings);
        // The distinct stems of the plain candidates and of those with a custom method count
        // together: `{range}`, `{range}:clear` and `{range}:append` take the same values.
        let stems: BTreeSet<&str> = group
            .iter()
            .filter_map(|c| match segment::split_verb(&c.text) {
                Some((stem, _)) => Some(stem),
                None => segment::split_suffix(&c.text)
                    .is_none()
                    .then_some(c.text.as_str()),
            })
            .collect();
        let pooled = stems.len();
        for group in partition_by_suffix(group) {
            let verbs_or_plain = group.iter().all(|c| {
                segment::split_verb(&c.text).is_some() || segment::split_suffix(&c.text).is_none()
            });
            let pool = if verbs_or_plain { pooled } else { group.len() };
            self.merge_group(node, ancestors, group, pool, position, settings);
        }
    }

    /// Values that arrived after their position became a parameter, or that an earlier merge
    /// judged on partial traffic and left literal: a literal joins the string parameter already
    /// beside it (one a merge made, no prefix or suffix) when everything below it is also below
    /// the parameter and its responses are not outliers there. A word must show more: the very
    /// same sub-resources and methods as the parameter's values (not a bare leaf), and responses
    /// that agree with theirs (`/users/caged/repos` beside `/users/{user}/repos`). Protected
    /// literals and those a rule names are never candidates. Returns the candidates that did not
    /// join.
    fn join_late_values(
        &mut self,
        node: usize,
        group: Vec<Candidate>,
        settings: &MergeSettings,
    ) -> Vec<Candidate> {
        let Some(param) = self.string_param(node) else {
            return group;
        };
        let mut rest = Vec::with_capacity(group.len());
        for c in group {
            let joins = segment::split_suffix(&c.text).is_none()
                && self.fits_under(c.node, param)
                && self.fields_fit(c.node, param)
                && (!c.word
                    || (!self.nodes[c.node].children.is_empty()
                        && self.same_shape(c.node, param)
                        && self.fields_agree(c.node, param, settings)));
            if joins {
                self.nodes[node]
                    .children
                    .remove(&Key::Literal(c.text.clone()));
                self.absorb(param, c.node);
            } else {
                rest.push(c);
            }
        }
        rest
    }

    /// Whether every endpoint under `node` has its counterpart under `under` (same methods, same
    /// sub-paths).
    fn fits_under(&self, node: usize, under: usize) -> bool {
        let methods = |n: usize| -> BTreeSet<&str> {
            self.nodes[n]
                .ends
                .iter()
                .map(|e| e.method.as_str())
                .collect()
        };
        if !methods(node).is_subset(&methods(under)) {
            return false;
        }
        self.nodes[node].children.iter().all(|(key, &child)| {
            let same = self.nodes[under]
                .children
                .get(key)
                .is_some_and(|&other| self.fits_under(child, other));
            // A literal below may itself be a late value of a parameter further down
            // (`/repos/{owner}/{repo}`: a new owner comes with a new repository).
            same || match key {
                Key::Literal(text) => {
                    matches!(segment::kind(text), Kind::Literal | Kind::Word)
                        && self
                            .string_param(under)
                            .is_some_and(|p| self.fits_under(child, p))
                }
                Key::Param { .. } => false,
            }
        })
    }

    /// Whether the subtrees under `node` and `other` have the same shape: the same methods end at
    /// both, and they have the same children, each again of the same shape.
    fn same_shape(&self, node: usize, other: usize) -> bool {
        let methods = |n: usize| -> BTreeSet<&str> {
            self.nodes[n]
                .ends
                .iter()
                .map(|e| e.method.as_str())
                .collect()
        };
        let (a, b) = (&self.nodes[node].children, &self.nodes[other].children);
        methods(node) == methods(other)
            && a.len() == b.len()
            && a.iter().all(|(key, &child)| {
                b.get(key)
                    .is_some_and(|&counterpart| self.same_shape(child, counterpart))
            })
    }

    /// Whether the responses under `node` positively agree with those under `under`: at least one
    /// signature has a counterpart (same method and sub-path) to compare with, and every one that
    /// has is at least [`MergeSettings::min_field_similarity`] alike to it.
    fn fields_agree(&self, node: usize, under: usize, settings: &MergeSettings) -> bool {
        let (mut mine, mut theirs) = (HashMap::new(), HashMap::new());
        self.collect_signatures(node, &mut String::new(), &mut mine);
        self.collect_signatures(under, &mut String::new(), &mut theirs);
        let mut compared = 0;
        for (key, fields) in &mine {
            let Some(other) = theirs.get(key) else {
                continue;
            };
            compared += 1;
            let union = (fields | other).count_ones();
            let shared = (fields & other).count_ones();
            let similarity = if union == 0 {
                1.0
            } else {
                f64::from(shared) / f64::from(union)
            };
            if similarity < settings.min_field_similarity {
                return false;
            }
        }
        compared > 0
    }

    /// The plain string parameter child of a node (one a merge made), if any.
    fn string_param(&self, node: usize) -> Option<usize> {
        let plain = Key::Param {
            prefix: String::new(),
            suffix: String::new(),
        };
        let &param = self.nodes[node].children.get(&plain)?;
        (self.nodes[param].kind == Some(ParamType::String)).then_some(param)
    }

    /// Whether the response signatures at `node` are not outliers among those at `under`, per
    /// method: they bring few fields that none of the parameter's values show (see [`novelty`]).
    fn fields_fit(&self, node: usize, under: usize) -> bool {
        self.nodes[node].ends.iter().all(|end| {
            let Some(mine) = end.fields else { return true };
            let mut all: Vec<u64> = self.nodes[under]
                .ends
                .iter()
                .filter(|e| e.method == end.method)
                .filter_map(|e| e.fields)
                .collect();
            all.push(mine);
            novelty(mine, &all).is_none_or(|share| share <= MAX_NOVELTY)
        })
    }

    /// Numbers inside a constant text (`part0` … `part29`, `page-3.rss`): at least `min_distinct`
    /// distinct numbers with the same text around them become one integer parameter with that
    /// prefix and suffix (`part{}`, `page-{}.rss`). Returns the other candidates.
    fn merge_numbered(
        &mut self,
        node: usize,
        group: Vec<Candidate>,
        settings: &MergeSettings,
    ) -> Vec<Candidate> {
        let mut shapes: BTreeMap<(String, String), usize> = BTreeMap::new();
        for c in &group {
            if let Some(shape) = number_shape(&c.text) {
                *shapes.entry(shape).or_default() += 1;
            }
        }
        let mut rest = Vec::with_capacity(group.len());
        let mut numbered: BTreeMap<(String, String), Vec<Candidate>> = BTreeMap::new();
        for c in group {
            match number_shape(&c.text) {
                Some(shape) if shapes[&shape] >= settings.min_distinct.max(2) => {
                    numbered.entry(shape).or_default().push(c);
                }
                _ => rest.push(c),
            }
        }
        for ((prefix, suffix), members) in numbered {
            let target = self.child(node, Key::Param { prefix, suffix });
            let t = &mut self.nodes[target];
            t.kind = Some(
                t.kind
                    .map_or(ParamType::Integer, |k| k.unify(ParamType::Integer)),
            );
            for c in members {
                self.nodes[node]
                    .children
                    .remove(&Key::Literal(c.text.clone()));
                self.absorb(target, c.node);
            }
        }
        rest
    }

    /// Merges one group of candidates of `node` (one suffix) if they are values.
    fn merge_group(
        &mut self,
        node: usize,
        ancestors: &[usize],
        group: Vec<Candidate>,
        pool: usize,
        position: Position,
        settings: &MergeSettings,
    ) {
        // After a version named by the API's own names (`/orders/v3/<x>`), handles are the
        // values of a leading parameter (a marketplace, a tenant) and merge as anywhere else;
        // words are its top-level resources (`/api.xro/2.0/Accounts`).
        let position = match position {
            Position::Named if mostly_handles(&group) => Position::Inner,
            Position::Named => Position::Leading,
            other => other,
        };
        let structure = self.structure(&group, settings, true);
        // A handful alike (`FewAlike`) is not enough at a leading position.
        if position == Position::Leading
            && !matches!(structure, Structure::Shared | Structure::SameShape)
        {
            return;
        }
        // Values seen at this position under other suffixes count towards `min_distinct`.
        let extra = pool.saturating_sub(group.len());
        let few = matches!(structure, Structure::SameShape | Structure::FewAlike);
        if group.len() + extra < settings.min_distinct && !few {
            if position == Position::Inner && structure != Structure::Differing {
                self.merge_known(node, &group);
            }
            return;
        }
        // The traffic of an endpoint at this level: the node's own endpoints, else its parent's.
        let reference = std::iter::once(node)
            .chain(ancestors.iter().rev().copied().take(2))
            .find_map(|n| {
                let ends = &self.nodes[n].ends;
                (!ends.is_empty()).then(|| {
                    ends.iter().map(|e| e.hits).sum::<u64>() as f64 / self.own_endpoints(n) as f64
                })
            });
        let cousins = self.recurring_in_cousins(ancestors, &group);
        let decision = self.decide(&group, reference, structure, extra, cousins, settings);
        let Some(mut chosen) = decision else {
            if position != Position::Inner {
                return;
            }
            // Handles beside a family of word-named resources (`/orders/<marketplace>` for many
            // marketplaces beside `/orders/invoices`, `/orders/batches`): the handles are judged
            // on their own.
            let (handles, words): (Vec<Candidate>, Vec<Candidate>) =
                group.into_iter().partition(marked_handle);
            if structure == Structure::Differing
                && !words.is_empty()
                && handles.len() >= settings.min_distinct
            {
                let pool = handles.len();
                return self.merge_group(node, ancestors, handles, pool, position, settings);
            }
            if structure != Structure::Differing {
                self.merge_known(node, &handles);
            }
            return;
        };
        if position == Position::Leading {
            // Only the siblings that lead to the shared sub-resources: a collection among them
            // (`/v3/projects/{p}` beside `/v3/<account>/hotels`) stays.
            chosen.retain(|(_, child)| self.leads_to_shared(*child, &group, settings));
            if chosen.len() < structure.needed(settings) {
                return;
            }
        }
        self.apply(node, chosen);
    }

    /// Merges too few candidates for [`MergeSettings::min_distinct`] when they are handles
    /// ([`marked_handle`]) and at least two of them were merged as values elsewhere on the host:
    /// one pool of names, each under a few of the routes that take it
    /// (`/revisionInfo/<repo>` with many repositories, `/pathHistory/<repo>` with a handful of
    /// the same). A word seen as a value elsewhere proves nothing (`status` is a value of a
    /// settings key and a fixed resource), so words are left out.
    fn merge_known(&mut self, node: usize, group: &[Candidate]) {
        let handles: Vec<&Candidate> = group.iter().filter(|c| marked_handle(c)).collect();
        let known = handles
            .iter()
            .filter(|c| self.values.contains(&c.text))
            .count();
        if known < 2 || known * 2 < handles.len() {
            return;
        }
        let chosen = handles.iter().map(|c| (c.text.clone(), c.node)).collect();
        self.apply(node, chosen);
    }

    /// Merges the chosen literal children of `node` into one parameter child.
    fn apply(&mut self, node: usize, chosen: Vec<(String, usize)>) {
        // `{}.json` or `{}:cancel` when every merged literal has the same suffix, `{}` otherwise;
        // `boundingBox.{}` when every one is a format of the same stem.
        let suffix_of =
            |text: &str| segment::split_suffix(text).map(|(_, suffix)| suffix.to_owned());
        let stem_of =
            |text: &str| segment::split_extension(text).map(|(stem, _)| format!("{stem}."));
        let first = suffix_of(&chosen[0].0);
        let first_stem = stem_of(&chosen[0].0);
        let key = if first_stem.is_some() && chosen.iter().all(|(t, _)| stem_of(t) == first_stem) {
            Key::Param {
                prefix: first_stem.unwrap_or_default(),
                suffix: String::new(),
            }
        } else if first.is_some() && chosen.iter().all(|(t, _)| suffix_of(t) == first) {
            Key::Param {
                prefix: String::new(),
                suffix: first.unwrap_or_default(),
            }
        } else {
            Key::Param {
                prefix: String::new(),
                suffix: String::new(),
            }
        };
        let target = self.child(node, key);
        let t = &mut self.nodes[target];
        t.kind = Some(
            t.kind
                .map_or(ParamType::String, |k| k.unify(ParamType::String)),
        );
        for (text, child) in chosen {
            self.nodes[node]
                .children
                .remove(&Key::Literal(text.clone()));
            self.absorb(target, child);
            self.values.insert(text);
        }
    }

    /// How many candidates are also literal children of another child of the node's parent (the
    /// same name one level over: `getDeparturesByCRS/<station>` for a station under
    /// `getArrivalsByCRS`), as the parent's children were before any of them merged.
    fn recurring_in_cousins(&self, ancestors: &[usize], group: &[Candidate]) -> usize {
        let Some(counts) = ancestors.last().and_then(|p| self.grandchildren.get(p)) else {
            return 0;
        };
        group
            .iter()
            .filter(|c| counts.get(&c.text).is_some_and(|&n| n >= 2))
            .count()
    }

    /// The traffic of the busiest endpoint (method and node) under a node: a fixed resource has
    /// endpoints with its operations' whole traffic, a parameter value only its share of it.
    fn density(&self, node: usize) -> f64 {
        let n = &self.nodes[node];
        let mut by_method: BTreeMap<&str, u64> = BTreeMap::new();
        for end in &n.ends {
            *by_method.entry(end.method.as_str()).or_default() += end.hits;
        }
        let own = by_method.into_values().max().unwrap_or(0) as f64;
        n.children
            .values()
            .map(|&child| self.density(child))
            .fold(own, f64::max)
    }

    /// The hits of every endpoint under a node.
    fn hits(&self, node: usize) -> u64 {
        let n = &self.nodes[node];
        n.ends.iter().map(|e| e.hits).sum::<u64>()
            + n.children.values().map(|&c| self.hits(c)).sum::<u64>()
    }

    /// The number of distinct methods ending at a node.
    fn own_endpoints(&self, node: usize) -> usize {
        let ends = &self.nodes[node].ends;
        let mut methods: Vec<&str> = ends.iter().map(|e| e.method.as_str()).collect();
        methods.sort_unstable();
        methods.dedup();
        methods.len()
    }

    /// Which candidates merge, if the group is to merge at all.
    fn decide(
        &self,
        group: &[Candidate],
        reference: Option<f64>,
        structure: Structure,
        extra: usize,
        cousins: usize,
        settings: &MergeSettings,
    ) -> Option<Vec<(String, usize)>> {
        // `min_distinct` siblings each seen exactly once, subtree and all, are values, words or
        // not: fixed resources are asked for again and again, and a sibling seen once shows
        // nothing of what lies below it (one item under it is no collection).
        let seen_once = group.len() >= settings.min_distinct && group.iter().all(|c| c.hits == 1);
        // Siblings leading to different sub-resources are a family of literals, however many.
        if structure == Structure::Differing && !seen_once {
            return None;
        }
        let needed = structure.needed(settings);
        // Field signatures under each candidate, by (method, relative sub-path).
        let mut signatures: Vec<HashMap<(String, String), u64>> = Vec::with_capacity(group.len());
        for c in group {
            let mut map = HashMap::new();
            self.collect_signatures(c.node, &mut String::new(), &mut map);
            signatures.push(map);
        }
        // Per (method, sub-path), every candidate's signature, to compare each with its siblings.
        let mut by_key: HashMap<&(String, String), Vec<u64>> = HashMap::new();
        for map in &signatures {
            for (key, fields) in map {
                by_key.entry(key).or_default().push(*fields);
            }
        }
        let mut densities: Vec<f64> = group.iter().map(|c| c.density).collect();
        densities.sort_by(f64::total_cmp);
        let median_density = densities[densities.len() / 2];
        let handles = mostly_handles(group);
        let mut with_evidence = 0;
        let mut agreeing = 0;
        let mut keep = Vec::new();
        for (c, map) in group.iter().zip(&signatures) {
            let (mut agree, mut disagree) = (0, 0);
            for (key, fields) in map {
                let Some(all) = by_key.get(key).filter(|all| all.len() >= 2) else {
                    continue;
                };
                // Values of one parameter return the same kind of object: a response may lack
                // optional fields its siblings show (serialisers omit empty ones), but it brings
                // few fields that none of them ever shows. A distinct resource brings its own
                // (`/faq/related` next to `/faq/{faq}`).
                match novelty(*fields, all) {
                    Some(share) if share <= MAX_NOVELTY => agree += 1,
                    Some(_) => disagree += 1,
                    None => {}
                }
            }
            if agree + disagree > 0 {
                with_evidence += 1;
            }
            if agree > disagree {
                agreeing += 1;
            }
            // A word with far more traffic than its siblings is a constant next to the values,
            // unless what lies below it lies below its siblings too: a hot value
            // (`/namespaces/{ns}/hybridConnections/data-tools/authorizationRules`).
            let constant = c.word
                && c.density >= settings.constant_traffic * median_density
                && !self.children_recur(c, group);
            // Among handles, a plain word that shares neither a method nor a sub-resource with
            // any of them is a resource of its own (`/orders/v3/batches/changeOrders` beside
            // `/orders/v3/<marketplace>/{account}/{order}`).
            let apart = handles && plain_word(c) && !self.shares_with(c, group);
            if agree >= disagree && !constant && !apart {
                keep.push((c.text.clone(), c.node));
            }
        }
        // The one candidate with sub-resources among siblings that are all bare leaves: its
        // subtree differs from theirs, so it is a resource of its own (`/data/hmda/slice/…` beside
        // `/data/<dataset>`).
        let mut inner = group
            .iter()
            .filter(|c| !self.nodes[c.node].children.is_empty());
        if let (Some(only), None) = (inner.next(), inner.next())
            && group.len() > MIN_SAME_SHAPE
        {
            keep.retain(|(text, _)| *text != only.text);
        }
        if keep.len() + extra < needed {
            return None;
        }
        if with_evidence >= 2
            && (agreeing as f64) < settings.min_field_agreement * with_evidence as f64
        {
            return None;
        }
        // Names made of words that also carry a number or a file extension (`checkout-v2`,
        // `us-east-1`, `logo.png`) are how values are named; fixed resources are plain words.
        let words = group
            .iter()
            .filter(|c| c.word && !numbered_or_file(&c.text))
            .count();
        let mostly_not_words = words as f64 <= settings.max_word_share * group.len() as f64;
        let light_traffic =
            reference.is_some_and(|r| median_density <= settings.max_value_traffic * r);
        // A crowd of siblings most of which were seen once are values, words or not: each
        // fixed path is requested again and again, a value now and then.
        let mut hits: Vec<u64> = group.iter().map(|c| c.hits).collect();
        hits.sort_unstable();
        // Handles with a separator or a digit need no crowd: `min_distinct` of them will do.
        let marked = group.iter().filter(|c| marked_handle(c)).count();
        let crowd = hits[hits.len() / 2] <= 1
            && (group.len() >= CROWD * settings.min_distinct
                || (group.len() >= settings.min_distinct && marked * 2 > group.len()));
        // Siblings with the same sub-resources are values of one parameter, however hot each of
        // them is (a dozen tenants, each under every route).
        // So are handles that recur below the node's own siblings: one pool of names, each under
        // every route that takes it (`getArrivalsByCRS/<station>`, `getDeparturesByCRS/<station>`).
        // Sub-resources named by words recur below every item not merged yet
        // (`/users/octocat/followers`, `/users/torvalds/followers`), so words do not count.
        let pooled = mostly_handles(group)
            && cousins >= settings.min_distinct
            && cousins as f64 >= settings.min_shared_children * group.len() as f64;
        (mostly_not_words || light_traffic || crowd || seen_once || pooled || structure.shared())
            .then_some(keep)
    }

    /// Whether `c` has a method at its own node, or a child, in common with another candidate
    /// of `group`: a literal of the same name, or a value on both sides (a parameter, or a
    /// literal not made of letters alone, which may be a value not merged yet).
    fn shares_with(&self, c: &Candidate, group: &[Candidate]) -> bool {
        let value = |k: &Key| match k {
            Key::Param { .. } => true,
            Key::Literal(text) => handle_name(text),
        };
        let own = &self.nodes[c.node];
        let own_value = own.children.keys().any(value);
        group.iter().filter(|o| o.node != c.node).any(|o| {
            let other = &self.nodes[o.node];
            own.ends
                .iter()
                .any(|e| other.ends.iter().any(|f| f.method == e.method))
                || own
                    .children
                    .keys()
                    .any(|k| matches!(k, Key::Literal(_)) && other.children.contains_key(k))
                || (own_value && other.children.keys().any(value))
        })
    }

    /// What the subtrees below the candidates say. Values of a parameter lead to the same
    /// sub-resources (`/repos/{owner}/{repo}/issues` for every repository); a family of literals
    /// leads to different ones, named by words (`/databases/{id}/backups/{b}`,
    /// `/databases/{id}/users/{u}`, `/databases/{id}/firewall`).
    fn structure(
        &self,
        group: &[Candidate],
        settings: &MergeSettings,
        look_ahead: bool,
    ) -> Structure {
        // Direct literal children seen under only one candidate: where a candidate has several,
        // they are values (`/billingProfiles/<id>`), and its sub-resources are looked for below
        // them.
        let mut direct: HashMap<&str, usize> = HashMap::new();
        for c in group {
            for key in self.nodes[c.node].children.keys() {
                if let Key::Literal(text) = key {
                    *direct.entry(text.as_str()).or_default() += 1;
                }
            }
        }
        // Siblings that are mostly words and mostly collections (a parameter or many values of
        // their own right below them) are a family of collections: `billingProfiles/{id}`,
        // `invoiceSections/{id}`, `customers/{id}`. A parameter's values have sub-resources
        // below them, not values.
        let word_siblings = group.iter().filter(|c| c.word).count();
        let wordy_siblings = word_siblings as f64 > settings.max_word_share * group.len() as f64;
        // Leaves say nothing here (an action such as `elevate` beside the collections).
        let inner = group
            .iter()
            .filter(|c| !self.nodes[c.node].children.is_empty())
            .count();
        // A candidate that is itself updated (`PUT`, `PATCH`) is an item, whatever lies below it
        // (`/pods/<name>/exec`, `/pods/<name>/portforward`: sub-resources that are not words).
        let collections = group
            .iter()
            .filter(|c| {
                let unique = self.nodes[c.node]
                    .children
                    .keys()
                    .filter(|k| matches!(k, Key::Literal(t) if direct[t.as_str()] == 1))
                    .count();
                let updated = self.nodes[c.node]
                    .ends
                    .iter()
                    .any(|e| e.method == "PUT" || e.method == "PATCH");
                !updated
                    && (unique >= VALUE_POSITION || self.holds_values(c.node, settings, look_ahead))
            })
            .count();
        // Collections that are created by a `POST` to themselves are a family too, whatever their
        // names (Kubernetes' `configmaps`, `persistentvolumeclaims` under `/namespaces/{ns}`): a
        // parameter's values are items, and items are not posted to with more items below them.
        let posted = group
            .iter()
            .filter(|c| {
                self.nodes[c.node].ends.iter().any(|e| e.method == "POST")
                    && self.holds_values(c.node, settings, look_ahead)
            })
            .count();
        if (wordy_siblings || posted * 2 > inner) && collections >= 2 && collections * 2 > inner {
            return Structure::Differing;
        }
        let mut under: HashMap<&str, usize> = HashMap::new();
        let mut parents = Vec::new();
        for c in group {
            let children = &self.nodes[c.node].children;
            let unique = children
                .keys()
                .filter(|k| matches!(k, Key::Literal(t) if direct[t.as_str()] == 1))
                .count();
            let mut literals: Vec<&str> = Vec::new();
            for (key, &child) in children {
                match key {
                    Key::Literal(text) if unique < VALUE_POSITION || direct[text.as_str()] > 1 => {
                        literals.push(text.as_str());
                    }
                    // Values of a parameter below: what is under them.
                    _ => {
                        literals.extend(self.nodes[child].children.keys().filter_map(|k| match k {
                            Key::Literal(text) => Some(text.as_str()),
                            Key::Param { .. } => None,
                        }))
                    }
                }
            }
            literals.sort_unstable();
            literals.dedup();
            for text in &literals {
                *under.entry(text).or_default() += 1;
            }
            if !literals.is_empty() {
                parents.push(literals);
            }
        }
        if parents.len() < 2 {
            return self.leaf_structure(group, settings);
        }
        let pairs: usize = parents.iter().map(Vec::len).sum();
        let shared = parents
            .iter()
            .flatten()
            .filter(|text| under[**text] >= 3.min(parents.len()))
            .count();
        if shared as f64 >= settings.min_shared_children * pairs as f64 {
            // The same set of two or more sub-resources under at least `MIN_SAME_SHAPE`
            // candidates, and nothing else below any of them.
            let first = &parents[0];
            let same = parents.len() >= MIN_SAME_SHAPE
                && parents.len() == group.len()
                && parents.iter().all(|p| p == first)
                && (first.len() >= 2 || self.same_long_paths(group));
            if same {
                return Structure::SameShape;
            }
            if group.len() < settings.min_distinct && self.same_chain(group) {
                return Structure::FewAlike;
            }
            return if parents.len() * 2 >= settings.min_distinct {
                Structure::Shared
            } else {
                Structure::Leaves
            };
        }
        if self.same_shape_through_values(group) {
            return Structure::Shared;
        }
        // Sub-resources that differ from one sibling to the next and are named by words: a
        // family of literals. Children that are themselves values (handles, ids) say nothing.
        let unshared: Vec<&str> = parents
            .iter()
            .flatten()
            .copied()
            .filter(|text| under[*text] < 2)
            .collect();
        let words = unshared
            .iter()
            .filter(|t| matches!(segment::kind(t), Kind::Word | Kind::Builtin))
            .count();
        // Only where the siblings are mostly words themselves: handles seen once or twice each
        // (`/orgs/acme-labs/members`, `/orgs/globex/teams`) show scattered sub-resources too.
        if wordy_siblings && !unshared.is_empty() && words * 10 >= unshared.len() * 7 {
            Structure::Differing
        } else {
            Structure::Leaves
        }
    }

    /// Whether the candidates lead through values to the same sub-resources:
    /// `/<type>/<name>/metrics` for every type, with names of their own under each, or deeper
    /// chains of values. Every candidate has the same endpoints by depth and last segment
    /// (`(2, metrics)`), each ends in a sub-resource shared by at least half of them, and the
    /// segments in between vary as values do: at each such depth the candidates show at least
    /// half as many distinct literals as there are candidates. A family of sub-resources has a
    /// fixed vocabulary in between (`/backups/restore/status`, `/dbs/tables/status`) or differs
    /// in depth or ending (`/ca` beside them).
    fn same_shape_through_values(&self, group: &[Candidate]) -> bool {
        /// How deep below a candidate its endpoints are looked for.
        const DEPTH: usize = 4;
        let mut paths: Vec<Vec<Vec<&str>>> = Vec::with_capacity(group.len());
        for c in group {
            let mut found = Vec::new();
            self.relative_paths(c.node, &mut Vec::new(), DEPTH, &mut found);
            paths.push(found);
        }
        // How many candidates end a path in each literal, and the distinct literals in between,
        // by depth.
        let mut endings: HashMap<&str, usize> = HashMap::new();
        let mut between: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); DEPTH];
        for found in &paths {
            let mut ends: Vec<&str> = found.iter().filter_map(|p| p.last().copied()).collect();
            ends.sort_unstable();
            ends.dedup();
            for text in ends {
                *endings.entry(text).or_default() += 1;
            }
            for p in found {
                for (d, text) in p.iter().enumerate().take(p.len().saturating_sub(1)) {
                    if *text != "*" {
                        between[d].insert(text);
                    }
                }
            }
        }
        let shared_end = |text: &str| {
            text != "*" && endings[text] >= 3.min(group.len()) && endings[text] * 2 >= group.len()
        };
        let mut first: Option<BTreeSet<(usize, &str)>> = None;
        let mut deep = false;
        for found in &paths {
            let mut shape = BTreeSet::new();
            for p in found {
                match p.last() {
                    None => {
                        shape.insert((0, ""));
                    }
                    Some(&last) if shared_end(last) => {
                        deep |= p.len() >= 2;
                        shape.insert((p.len(), last));
                    }
                    Some(_) => return false,
                }
            }
            match &first {
                None => first = Some(shape),
                Some(f) if *f == shape => {}
                Some(_) => return false,
            }
        }
        deep && between
            .iter()
            .all(|literals| literals.is_empty() || literals.len() * 2 >= group.len())
    }

    /// Whether every candidate has the very same endpoints below it, all at least
    /// [`LONG_PATH`] literal segments down (`/<group>/providers/Microsoft.PolicyInsights/
    /// policyEvents/default/queryResults` for every group): one sub-resource, but a chain below
    /// it that a family of literals would hardly repeat under each member.
    /// A single such path below each candidate may also pass through a value of the
    /// candidate's own: a segment that differs from every other candidate's at that depth
    /// (`/projects/<p>/locations/<region>/deliveryData` for every project).
    fn same_long_paths(&self, group: &[Candidate]) -> bool {
        /// The fewest segments of such a path.
        const LONG_PATH: usize = 3;
        /// How deep below a candidate its endpoints are looked for.
        const DEPTH: usize = 8;
        let mut all: Vec<Vec<Vec<&str>>> = Vec::with_capacity(group.len());
        for c in group {
            if !self.nodes[c.node].ends.is_empty() {
                return false;
            }
            let mut found = Vec::new();
            self.relative_paths(c.node, &mut Vec::new(), DEPTH, &mut found);
            found.sort_unstable();
            if found.is_empty() || found.iter().any(|p| p.len() < LONG_PATH) {
                return false;
            }
            all.push(found);
        }
        let Some(first) = all.first() else {
            return false;
        };
        if all.iter().all(|found| found == first) {
            return true;
        }
        // One path each, of one length, ending in the same literal; at every depth the
        // candidates agree or each has its own segment.
        let single = all
            .iter()
            .all(|found| found.len() == 1 && found[0].len() == first[0].len());
        single
            && all.iter().all(|found| found[0].last() == first[0].last())
            && (0..first[0].len()).all(|depth| {
                let at: BTreeSet<&str> = all.iter().map(|found| found[0][depth]).collect();
                at.len() == 1 || (at.len() == all.len() && !at.contains("*"))
            })
    }

    /// Whether a handful of handles lead to one chain of sub-resources: below every candidate,
    /// every endpoint lies along the same names, with values in between
    /// (`/resourceGroups/<group>/providers/<namespace>/servers/<server>/privateLinkResources`
    /// for each of three groups, `/locations/<region>/serviceTags` for each of four regions).
    /// Where the paths differ at a depth, every segment there reads as a value
    /// ([`value_like`]), so each candidate may have values of its own below it; where they
    /// agree, the segment is a fixed name of the chain. The first segment below the candidates
    /// is such a name, and the paths have at most two lengths (`…/privateLinkResources` and
    /// `…/privateLinkResources/<name>`). A family of handle-named resources would hardly repeat
    /// a chain of names under each member; a chain of one fixed name needs [`MIN_SAME_SHAPE`]
    /// candidates, a longer one [`FEWEST_VALUES`].
    fn same_chain(&self, group: &[Candidate]) -> bool {
        /// How deep below a candidate its endpoints are looked for.
        const DEPTH: usize = 8;
        /// The most distinct lengths of path below the candidates.
        const MAX_LENGTHS: usize = 2;
        if group.len() < FEWEST_VALUES || !mostly_handles(group) {
            return false;
        }
        let mut paths: Vec<Vec<&str>> = Vec::new();
        for c in group {
            let mut found = Vec::new();
            self.relative_paths(c.node, &mut Vec::new(), DEPTH, &mut found);
            let before = paths.len();
            paths.extend(found.into_iter().filter(|p| !p.is_empty()));
            if paths.len() == before {
                return false;
            }
        }
        let lengths: BTreeSet<usize> = paths.iter().map(Vec::len).collect();
        let Some(&shortest) = lengths.first() else {
            return false;
        };
        if lengths.len() > MAX_LENGTHS {
            return false;
        }
        let mut fixed = 0;
        for depth in 0..shortest {
            let at: BTreeSet<&str> = paths.iter().map(|p| p[depth]).collect();
            let one = at.len() == 1 && !at.contains("*");
            if one {
                fixed += 1;
            } else if depth == 0 || !at.iter().all(|text| value_like(text)) {
                return false;
            }
        }
        fixed >= 2 || (fixed == 1 && group.len() >= MIN_SAME_SHAPE)
    }

    /// Whether [`MIN_SAME_SHAPE`] or more bare leaves, mostly handles, were seen once each
    /// (but for a third of them at most), all with the same methods: a host with little traffic
    /// shows each value of a parameter once or twice (`/iec/api-nimbus`, `/iec/tundra_38`),
    /// while fixed resources are asked for again and again and are named by words.
    fn few_leaves_seen_once(&self, group: &[Candidate]) -> bool {
        let methods = |c: &Candidate| -> BTreeSet<&str> {
            self.nodes[c.node]
                .ends
                .iter()
                .map(|e| e.method.as_str())
                .collect()
        };
        // Handles with a separator or a digit for the most part, the rest names that no
        // dictionary knows (`orbithq`) but for one word in four at most.
        let marked = group.iter().filter(|c| marked_handle(c)).count();
        let words = group.iter().filter(|c| plain_word(c)).count();
        // A third of them may have been asked for again (a long tail has a few hot values).
        let again = group.iter().filter(|c| c.hits > 1).count();
        let first = methods(&group[0]);
        // Files are left out: formats of fixed resources (`boundingBox.geojson`,
        // `feature.geojson`) are leaves with names of their own.
        group.len() >= MIN_SAME_SHAPE
            && marked * 2 > group.len()
            && words * 4 <= group.len()
            && again * 3 <= group.len()
            && group.iter().all(|c| {
                self.nodes[c.node].children.is_empty() && !file_like(&c.text) && methods(c) == first
            })
    }

    /// The paths from `node` to the endpoints below it, at most `depth` segments long; `*` for
    /// a parameter. Stops at `MAX_PATHS`.
    fn relative_paths<'a>(
        &'a self,
        node: usize,
        prefix: &mut Vec<&'a str>,
        depth: usize,
        found: &mut Vec<Vec<&'a str>>,
    ) {
        /// The most paths collected under one candidate.
        const MAX_PATHS: usize = 256;
        if found.len() >= MAX_PATHS {
            return;
        }
        if !self.nodes[node].ends.is_empty() {
            found.push(prefix.clone());
        }
        if prefix.len() == depth {
            return;
        }
        for (key, &child) in &self.nodes[node].children {
            prefix.push(match key {
                Key::Literal(text) => text.as_str(),
                Key::Param { .. } => "*",
            });
            self.relative_paths(child, prefix, depth, found);
            prefix.pop();
        }
    }

    /// What leaves say: siblings most of which are served with the very same three or more
    /// methods are values of one parameter (`GET`, `POST` and `DELETE /tags/{tag}` for every
    /// tag); a family of fixed leaves has methods of its own each.
    fn leaf_structure(&self, group: &[Candidate], settings: &MergeSettings) -> Structure {
        if group.len() < settings.min_distinct {
            return match self.few_leaves_seen_once(group) {
                true => Structure::FewAlike,
                false => Structure::Leaves,
            };
        }
        let handles = mostly_handles(group);
        let mut sets: HashMap<BTreeSet<&str>, usize> = HashMap::new();
        for c in group {
            let methods: BTreeSet<&str> = self.nodes[c.node]
                .ends
                .iter()
                .map(|e| e.method.as_str())
                .collect();
            // Handles read and written in place (`GET` and `PUT` on every subscription
            // definition) are items of one collection; a family of fixed leaves so served
            // (`config/logs`, `config/web`) is named by words.
            let writes = methods
                .iter()
                .any(|m| matches!(*m, "PUT" | "PATCH" | "DELETE"));
            if methods.len() >= SAME_METHODS || (handles && writes && methods.len() >= 2) {
                *sets.entry(methods).or_default() += 1;
            }
        }
        let most = sets.values().copied().max().unwrap_or(0);
        if most as f64 >= settings.min_shared_children * group.len() as f64
            || self.leaves_answer_alike(group, settings)
        {
            Structure::Shared
        } else {
            Structure::Leaves
        }
    }

    /// Whether leaves served with one method answer with one kind of object: every one of at
    /// least `min_distinct` responses draws its fields from a set hardly larger than one
    /// response (the fields of one schema, some optional), and none brings fields the others
    /// lack. A family of fixed leaves answers with objects of their own (`/users/{u}/followers`,
    /// `/users/{u}/gists`, `/users/{u}/events`), however alike their names and traffic.
    fn leaves_answer_alike(&self, group: &[Candidate], settings: &MergeSettings) -> bool {
        let mut by_method: HashMap<&str, Vec<u64>> = HashMap::new();
        for c in group {
            if !self.nodes[c.node].children.is_empty() {
                return false;
            }
            for end in &self.nodes[c.node].ends {
                if let Some(fields) = end.fields {
                    by_method
                        .entry(end.method.as_str())
                        .or_default()
                        .push(fields);
                }
            }
        }
        by_method.values().any(|all| {
            if all.len() < settings.min_distinct
                || (all.len() as f64) < settings.min_shared_children * group.len() as f64
            {
                return false;
            }
            let mut sizes: Vec<u32> = all.iter().map(|f| f.count_ones()).collect();
            sizes.sort_unstable();
            let typical = sizes[sizes.len() / 2];
            let union = all.iter().fold(0u64, |u, f| u | f).count_ones();
            typical >= MIN_ALIKE_FIELDS
                && f64::from(union) <= ALIKE_UNION * f64::from(typical)
                && all
                    .iter()
                    .all(|f| novelty(*f, all).is_none_or(|share| share <= MAX_NOVELTY))
        })
    }

    /// Whether a candidate has literal children and each of them is also below two other
    /// candidates.
    fn children_recur(&self, c: &Candidate, group: &[Candidate]) -> bool {
        let (literals, recurring) = self.recurring_children(c.node, group);
        literals > 0 && recurring == literals
    }

    /// Whether most of a candidate's literal children are also below two other candidates, and
    /// none is a version: API groups (`/apis/apps/v1`, `/apis/batch/v1`) are namespaces of
    /// their own, not values.
    fn leads_to_shared(&self, node: usize, group: &[Candidate], settings: &MergeSettings) -> bool {
        let versioned = self.nodes[node]
            .children
            .keys()
            .any(|k| matches!(k, Key::Literal(text) if template::is_version_prefix_member(text)));
        let (literals, recurring) = self.recurring_children(node, group);
        !versioned
            && literals > 0
            && recurring as f64 >= settings.min_shared_children * literals as f64
    }

    /// How many literal children `node` has, and how many of them are also below two other
    /// candidates of `group`.
    fn recurring_children(&self, node: usize, group: &[Candidate]) -> (usize, usize) {
        let (mut literals, mut recurring) = (0, 0);
        for key in self.nodes[node].children.keys() {
            if !matches!(key, Key::Literal(_)) {
                continue;
            }
            literals += 1;
            let elsewhere = group
                .iter()
                .filter(|o| o.node != node && self.nodes[o.node].children.contains_key(key))
                .count();
            recurring += usize::from(elsewhere >= 2);
        }
        (literals, recurring)
    }

    /// Whether a node is a collection: a parameter right below it, four literals or more of
    /// which a third are not words (values; sub-resources are named by words), many literals
    /// that lead to the same sub-resources, or (with `look_ahead`) literals that would merge
    /// as values by themselves. The caller also counts a candidate with many literals seen
    /// under no other candidate.
    fn holds_values(&self, node: usize, settings: &MergeSettings, look_ahead: bool) -> bool {
        let children = &self.nodes[node].children;
        if children.keys().any(|k| matches!(k, Key::Param { .. })) {
            return true;
        }
        let (mut literals, mut names) = (0, 0);
        for key in children.keys() {
            if let Key::Literal(text) = key {
                literals += 1;
                names += usize::from(!matches!(segment::kind(text), Kind::Word | Kind::Builtin));
            }
        }
        (literals >= VALUE_POSITION && names * 3 >= literals)
            || self.children_alike(node)
            || (look_ahead && self.children_are_values(node, settings))
    }

    /// Whether the literal children of a node would merge as values of one parameter on their
    /// own evidence (judged without looking further down). Collections whose items are named
    /// from one pool of names shared with their sibling collections
    /// (`billingRoleAssignments/<name>`, `transactions/<name>` with the same names) have no
    /// item of their own, yet their items are values.
    fn children_are_values(&self, node: usize, settings: &MergeSettings) -> bool {
        let group: Vec<Candidate> = self.nodes[node]
            .children
            .iter()
            .filter_map(|(key, &child)| match key {
                Key::Literal(text) => self.candidate(text, child, true),
                Key::Param { .. } => None,
            })
            .collect();
        if group.len() < settings.min_distinct {
            return false;
        }
        let structure = self.structure(&group, settings, false);
        let ends = &self.nodes[node].ends;
        let reference = (!ends.is_empty()).then(|| {
            ends.iter().map(|e| e.hits).sum::<u64>() as f64 / self.own_endpoints(node) as f64
        });
        self.decide(&group, reference, structure, 0, 0, settings)
            .is_some_and(|keep| keep.len() >= settings.min_distinct)
    }

    /// A literal child as a merge candidate, unless it is protected (built-in literals,
    /// versions, typed values). Past the version prefix (where candidates are looked for),
    /// `api` or `rest` name nothing special: a project called `api` is a value like any other.
    /// Where `versions` holds (inside a path, not at its leading positions), a version is a
    /// candidate too: many of them side by side are the values of a version parameter
    /// (`/skus/{sku}/versions/16.59`), while a few stay (`/apis/apps/v1`, `/apis/apps/v1beta1`).
    fn candidate(&self, text: &str, child: usize, versions: bool) -> Option<Candidate> {
        let word = match segment::kind(text) {
            Kind::Literal => false,
            Kind::Version if versions => false,
            Kind::Word | Kind::ApiPrefix => true,
            _ => return None,
        };
        Some(Candidate {
            text: text.to_owned(),
            node: child,
            word,
            density: self.density(child),
            hits: self.hits(child),
        })
    }

    /// Whether a node has `min_distinct`-like many literal children that lead to the same
    /// sub-resources as one another: values (`billingProfiles/<profile>/invoices` for many
    /// profiles), whatever their names.
    fn children_alike(&self, node: usize) -> bool {
        let mut under: HashMap<&str, usize> = HashMap::new();
        let mut literals = 0;
        let mut parents = 0;
        for (key, &child) in &self.nodes[node].children {
            if !matches!(key, Key::Literal(_)) {
                continue;
            }
            literals += 1;
            let mut any = false;
            for grandchild in self.nodes[child].children.keys() {
                if let Key::Literal(text) = grandchild {
                    *under.entry(text.as_str()).or_default() += 1;
                    any = true;
                }
            }
            parents += usize::from(any);
        }
        if literals < 2 * VALUE_POSITION || parents < VALUE_POSITION {
            return false;
        }
        let pairs: usize = under.values().sum();
        let shared: usize = under.values().filter(|&&n| n >= 3).sum();
        shared * 10 >= pairs * 7
    }

    fn collect_signatures(
        &self,
        node: usize,
        rel: &mut String,
        out: &mut HashMap<(String, String), u64>,
    ) {
        for end in &self.nodes[node].ends {
            if let Some(fields) = end.fields {
                out.entry((end.method.clone(), rel.clone()))
                    .or_insert(fields);
            }
        }
        for (key, &child) in &self.nodes[node].children {
            let len = rel.len();
            rel.push('/');
            match key {
                Key::Literal(text) => rel.push_str(text),
                Key::Param { prefix, suffix } => {
                    rel.push_str(prefix);
                    rel.push_str("{}");
                    rel.push_str(suffix);
                }
            }
            self.collect_signatures(child, rel, out);
            rel.truncate(len);
        }
    }

    /// The template each input ends at.
    fn templates(&self, inputs: usize) -> Vec<Option<Template>> {
        let mut out = vec![None; inputs];
        let mut path = Vec::new();
        self.collect_templates(0, &mut path, &mut out);
        out
    }

    fn collect_templates<'a>(
        &'a self,
        node: usize,
        path: &mut Vec<(&'a Key, usize)>,
        out: &mut [Option<Template>],
    ) {
        if !self.nodes[node].ends.is_empty() {
            let mut builder = Builder::default();
            for (key, n) in path.iter() {
                match key {
                    Key::Literal(text) => builder.literal(text),
                    Key::Param { prefix, suffix } => {
                        let n = &self.nodes[*n];
                        let name = (n.names.len() == 1)
                            .then(|| n.names.iter().next().cloned())
                            .flatten();
                        builder.param(prefix, suffix, n.kind.unwrap_or(ParamType::String), name);
                    }
                }
            }
            let template = builder.finish();
            for end in &self.nodes[node].ends {
                out[end.input] = Some(template.clone());
            }
        }
        for (key, &child) in &self.nodes[node].children {
            path.push((key, child));
            self.collect_templates(child, path, out);
            path.pop();
        }
    }
}

/// `page-3.rss` → (`page-`, `.rss`): the text around the one run of digits in a segment, when
/// there is text around it and no other digit.
fn number_shape(text: &str) -> Option<(String, String)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let end = start
        + text[start..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len() - start);
    let (prefix, suffix) = (&text[..start], &text[end..]);
    let plain = |s: &str| !s.contains(|c: char| c.is_ascii_digit() || c == '%' || c == ':');
    let ok = (!prefix.is_empty() || !suffix.is_empty())
        && plain(suffix)
        && plain(prefix)
        && prefix.len() + suffix.len() >= 2;
    ok.then(|| (prefix.to_owned(), suffix.to_owned()))
}

/// Splits the candidates of one position by their constant suffix where it names a different
/// endpoint: a custom method (`abc:cancel` beside `abc`) always, a file extension when the same
/// stems also occur without it (`AR.json` beside `AR`), or when every candidate has one of a
/// few extensions, each under several stems (`home.json`, `arts.jsonp`: formats of one
/// resource, `{section}.json`); otherwise extensions stay together (`index.js`, `package.json`
/// are values of one `{path}`).
fn partition_by_suffix(group: Vec<Candidate>) -> Vec<Vec<Candidate>> {
    /// The most extensions that are formats of one resource.
    const FORMATS: usize = 3;
    let plain: BTreeSet<&str> = group
        .iter()
        .filter(|c| segment::split_suffix(&c.text).is_none())
        .map(|c| c.text.as_str())
        .collect();
    let mut extensions: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &group {
        if let Some((_, ext)) = segment::split_extension(&c.text) {
            *extensions.entry(ext).or_default() += 1;
        }
    }
    let formats = extensions.len() <= FORMATS
        && extensions.values().all(|&n| n >= 2)
        && extensions.values().sum::<usize>() == group.len();
    // Extensions that some stem also has without, or that are formats.
    let split: BTreeSet<&str> = group
        .iter()
        .filter_map(|c| segment::split_extension(&c.text))
        .filter(|(stem, _)| formats || plain.contains(stem))
        .map(|(_, ext)| ext)
        .collect();
    // Stems seen with several extensions: one resource in several formats
    // (`boundingBox.json`, `boundingBox.kml`), its own endpoint apart from other stems.
    let mut formats: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in &group {
        if let Some((stem, ext)) = segment::split_extension(&c.text) {
            formats.entry(stem).or_default().insert(ext);
        }
    }
    let keys: Vec<String> = group
        .iter()
        .map(|c| {
            if let Some((stem, _)) = segment::split_verb(&c.text) {
                return c.text[stem.len()..].to_owned();
            }
            match segment::split_extension(&c.text) {
                Some((stem, _)) if formats[stem].len() >= 2 => format!("{stem}."),
                Some((stem, ext)) if split.contains(ext) => c.text[stem.len()..].to_owned(),
                _ => String::new(),
            }
        })
        .collect();
    let mut parts: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for (c, key) in group.into_iter().zip(keys) {
        parts.entry(key).or_default().push(c);
    }
    parts.into_values().collect()
}

/// Whether fewer than half the candidates are names made of letters alone (`logs`,
/// `appsettings`, `slotConfigNames`), what fixed resources are called: handles have separators
/// or digits (`api-orbit`, `db_12`) or are not words (`acme`, `KGX`).
fn mostly_handles(group: &[Candidate]) -> bool {
    let plain = group.iter().filter(|c| plain_word(c)).count();
    plain * 2 < group.len()
}

/// A name with a separator or a digit in it (`api-orbit`, `db_12`, `sync-v2`): letters alone
/// may be a resource's name even when no dictionary knows it (`deallocate`, `reimageall`).
fn marked_handle(c: &Candidate) -> bool {
    handle_name(&c.text)
}

/// See [`marked_handle`].
fn handle_name(text: &str) -> bool {
    !text.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Whether a segment may be a value rather than a sub-resource's name: a parameter (`*`), a
/// handle with a separator, a digit or a dot in it, anything but a word (the stem before a
/// custom method counts). A built-in literal among values (`search` beside `nimbus_7`) is one
/// of them here; where it stands beside a parameter it stays protected all the same.
fn value_like(text: &str) -> bool {
    let stem = segment::split_verb(text).map_or(text, |(stem, _)| stem);
    text == "*" || handle_name(stem) || segment::kind(stem) != Kind::Word
}

/// Whether a name reads as a file: a name, a dot and a short lower-case extension
/// (`feature.geojson`, `report.csv`), whether or not the extension is a well-known one. Ids with
/// a dot in them (`AppConfig.JmZbcqYEjGmArt`, `.B3`) are not files.
fn file_like(text: &str) -> bool {
    text.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty()
            && (1..=8).contains(&extension.len())
            && extension.starts_with(|c: char| c.is_ascii_lowercase())
            && extension
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// A word made of letters alone (`logs`, `batches`).
fn plain_word(c: &Candidate) -> bool {
    c.word && c.text.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Where a group of candidates sits, which decides what evidence merges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// The first segment or the one right after the version prefix: only the same
    /// sub-resources below the siblings.
    Leading,
    /// Right after a version named by one or two names (`/orders/v3/x`): [`Position::Inner`]
    /// for handles, [`Position::Leading`] for words.
    Named,
    /// Right after the version prefix, resources named before a custom method.
    Verbs,
    /// Anywhere else: all the evidence of [`Forest::decide`].
    Inner,
}

/// What the subtrees below a group of candidates show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Structure {
    /// Too few candidates have sub-resources to tell.
    Leaves,
    /// Most sub-resources recur under several candidates: values of one parameter.
    Shared,
    /// Every candidate has the very same two or more sub-resources: values of one parameter,
    /// even when there are few of them.
    SameShape,
    /// A handful of handles with one chain of sub-resources below each, or bare leaves each
    /// seen once: values of one parameter, though not at a leading position.
    FewAlike,
    /// Different sub-resources named by words: a family of literals.
    Differing,
}

impl Structure {
    /// How many candidates must merge for a group with this structure to merge at all.
    fn needed(self, settings: &MergeSettings) -> usize {
        match self {
            Structure::FewAlike => FEWEST_VALUES.min(settings.min_distinct),
            Structure::SameShape => MIN_SAME_SHAPE.min(settings.min_distinct),
            Structure::Leaves | Structure::Shared | Structure::Differing => settings.min_distinct,
        }
    }

    fn shared(self) -> bool {
        matches!(
            self,
            Structure::Shared | Structure::SameShape | Structure::FewAlike
        )
    }
}

/// Leaves served with this many of the same methods are values (see `leaf_structure`).
const SAME_METHODS: usize = 3;

/// Leaves answer alike (see `leaves_answer_alike`) when their responses typically have at least
/// this many fields (fewer say nothing: envelopes such as `{data}` look alike everywhere)…
const MIN_ALIKE_FIELDS: u32 = 3;

/// … and all their fields together are at most this many times those of a typical response.
const ALIKE_UNION: f64 = 2.5;

/// Siblings seen once each merge as values when there are this many times
/// [`MergeSettings::min_distinct`] of them.
const CROWD: usize = 2;

/// A candidate with this many literal children of its own (seen under no other candidate)
/// holds values there: its sub-resources are looked for below them.
const VALUE_POSITION: usize = 4;

/// The least number of siblings with the very same sub-resources that merge below
/// [`MergeSettings::min_distinct`].
const MIN_SAME_SHAPE: usize = 4;

/// The fewest distinct values any evidence merges (handles that lead to one chain of words,
/// [`Structure::FewAlike`]): a position with fewer literals never merges.
pub const FEWEST_VALUES: usize = 3;

/// Never the first segment, nor one that follows only a version prefix (`/v1/x`, `/api/x`,
/// `/rest/api/3/x`), nor one that follows a version named after one or two names of the API
/// itself (`/api.xro/2.0/x`, `/services/data/v58.0/x`, `/freeplan/v1/x`). A version closes the
/// prefix to `api`-like names: past `/api/v1`, `apis` is a collection like any other
/// (`/api/v1/apis/<owner>`).
fn mergeable_position(path: &[Key]) -> bool {
    if after_named_version(path) {
        return false;
    }
    let mut versioned = false;
    !path.is_empty()
        && !path.iter().all(|key| match key {
            Key::Literal(text) => {
                let api_name = segment::kind(text) == Kind::ApiPrefix;
                let member = template::is_version_prefix_member(text) && !(versioned && api_name);
                versioned |= !api_name;
                member
            }
            Key::Param { .. } => false,
        })
}

/// A name with a digit in it or a file extension (`ci-runner-3`, `README.md`).
fn numbered_or_file(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_digit()) || segment::split_extension(text).is_some()
}

/// Whether `path` is one or two literal names followed by an API version (`v1`, `v2beta1`,
/// `2.0`). A three-part number (`4.17.21`) is more likely a package's version, a value, and a
/// small number or a date after names is a value (`/orders/items/3`).
fn after_named_version(path: &[Key]) -> bool {
    let [names @ .., Key::Literal(last)] = path else {
        return false;
    };
    (1..=2).contains(&names.len())
        && segment::kind(last) == Kind::Version
        && last.matches('.').count() < 2
        && names.iter().all(|key| match key {
            Key::Literal(text) => matches!(
                segment::kind(text),
                Kind::Literal | Kind::Word | Kind::ApiPrefix
            ),
            Key::Param { .. } => false,
        })
}

/// Whether a rule names `literal` as a literal right after `path`.
fn rule_keeps(rules: &HostRules, path: &[Key], literal: &str) -> bool {
    let depth = path.len();
    let prefix_matches = |rule: &[RuleSegment<'_>]| {
        rule.len() > depth
            && matches!(rule[depth], RuleSegment::Literal(text) if text == literal)
            && rule[..depth].iter().zip(path).all(|(r, k)| match (r, k) {
                (RuleSegment::Param, _) => true,
                (RuleSegment::Literal(r), Key::Literal(k)) => r == k,
                (RuleSegment::Literal(_), Key::Param { .. }) => false,
            })
    };
    rules.literals.iter().any(|rule| {
        let segments: Vec<RuleSegment<'_>> = template::split_path(rule)
            .into_iter()
            .map(RuleSegment::Literal)
            .collect();
        prefix_matches(&segments)
    }) || rules.templates.iter().any(|rule| {
        let segments: Vec<RuleSegment<'_>> = rule
            .segments()
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => RuleSegment::Literal(text),
                Segment::Param { .. } => RuleSegment::Param,
            })
            .collect();
        prefix_matches(&segments)
    })
}

enum RuleSegment<'a> {
    Literal(&'a str),
    Param,
}

/// A candidate's response disagrees with its siblings' when more than this share of its fields
/// appear in none of theirs (see [`novelty`]).
const MAX_NOVELTY: f64 = 0.5;

/// The least number of sibling signatures for [`novelty`] to say anything: with fewer, optional
/// fields that only one response happened to carry look new.
const MIN_NOVELTY_SIBLINGS: usize = 4;

/// The least number of new fields that count: one field that no sibling shows is an optional
/// field seen once as often as another resource.
const MIN_NOVEL_FIELDS: u32 = 2;

/// The share of a signature's fields (see [`crate::discovery::catalog::response_fields`]) that
/// none of its siblings' signatures show; `all` holds the signature itself once. Unlike an
/// overlap, it does not count what a response lacks: values of one parameter return the same
/// kind of object with more or fewer optional fields, so a sparse response is a subset of what
/// its siblings show, while a distinct resource brings fields of its own. `None` when there are
/// fewer than [`MIN_NOVELTY_SIBLINGS`] siblings or the signature is empty.
fn novelty(mine: u64, all: &[u64]) -> Option<f64> {
    let mut seen_self = false;
    let mut union = 0u64;
    let mut others = 0;
    for &other in all {
        if other == mine && !seen_self {
            seen_self = true;
            continue;
        }
        union |= other;
        others += 1;
    }
    if others < MIN_NOVELTY_SIBLINGS || mine == 0 {
        return None;
    }
    let novel = (mine & !union).count_ones();
    if novel < MIN_NOVEL_FIELDS {
        return Some(0.0);
    }
    Some(f64::from(novel) / f64::from(mine.count_ones()))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    const USERNAMES: [&str; 20] = [
        "octocat",
        "torvalds",
        "gaearon",
        "sindresorhus",
        "defunkt",
        "mojombo",
        "alice",
        "bob",
        "jdoe",
        "jsmith",
        "mjackson",
        "kentcdodds",
        "antirez",
        "fabpot",
        "mitchellh",
        "jessfraz",
        "bradfitz",
        "tpope",
        "wycats",
        "addyosmani",
    ];

    /// Templates each request, aggregates them as the catalog does, merges, and returns the
    /// endpoints.
    fn discover(
        requests: &[(&str, String, Option<u64>)],
        rules: &HostRules,
        settings: &MergeSettings,
    ) -> BTreeSet<(String, String)> {
        let mut seen: BTreeMap<(String, String), (u64, Option<u64>)> = BTreeMap::new();
        for (method, path, fields) in requests {
            let t = templatize(path, rules);
            seen.entry(((*method).to_owned(), t.annotated()))
                .or_insert((0, *fields))
                .0 += 1;
        }
        let observed: Vec<Observed> = seen
            .into_iter()
            .map(|((method, template), (hits, fields))| Observed {
                method,
                template,
                hits,
                fields,
            })
            .collect();
        let changes = merge(&observed, rules, settings);
        let renamed: BTreeMap<(String, String), String> = changes
            .into_iter()
            .map(|(m, from, to)| ((m, from), to))
            .collect();
        observed
            .into_iter()
            .map(|o| {
                let text = renamed
                    .get(&(o.method.clone(), o.template.clone()))
                    .cloned()
                    .unwrap_or(o.template);
                let t = Template::parse(&text).expect("merge output parses");
                (o.method, t.as_str().to_owned())
            })
            .collect()
    }

    fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        items
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect()
    }

    /// The small API of the issue's end-to-end test: numeric ids, UUIDs, 20 usernames under
    /// `/users/{username}/repos`, and `/users/me`.
    fn small_api(fields: bool) -> Vec<(&'static str, String, Option<u64>)> {
        let f = |n: u64| fields.then_some(n);
        let mut requests = Vec::new();
        for _ in 0..10 {
            requests.push(("GET", "/api/v1/users".to_owned(), f(1)));
            requests.push(("GET", "/api/v1/users/me".to_owned(), f(2)));
        }
        for (i, user) in USERNAMES.iter().enumerate() {
            requests.push(("GET", format!("/api/v1/users/{user}/repos"), f(3)));
            requests.push(("GET", format!("/api/v1/orders/{}", 1000 + i * 7), f(4)));
            requests.push((
                "DELETE",
                format!("/api/v1/files/6fd4ff89-8fc1-42cf-8b29-1890dedd26{i:02}"),
                None,
            ));
        }
        requests
    }

    #[test]
    fn small_api_gives_exactly_its_endpoints() {
        let expected = set(&[
            ("GET", "/api/v1/users"),
            ("GET", "/api/v1/users/me"),
            ("GET", "/api/v1/users/{user}/repos"),
            ("GET", "/api/v1/orders/{orderId}"),
            ("DELETE", "/api/v1/files/{fileId}"),
        ]);
        for fields in [true, false] {
            let found = discover(
                &small_api(fields),
                &HostRules::default(),
                &MergeSettings::default(),
            );
            assert_eq!(found, expected, "fields: {fields}");
        }
    }

    #[test]
    fn too_few_values_stay_literal() {
        let requests: Vec<_> = USERNAMES[..5]
            .iter()
            .map(|u| ("GET", format!("/users/{u}"), None))
            .collect();
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 5);
    }

    #[test]
    fn leaves_in_the_first_segment_and_after_the_version_never_merge() {
        let mut requests = Vec::new();
        for u in USERNAMES {
            requests.push(("GET", format!("/{u}"), None));
            requests.push(("GET", format!("/v1/{u}"), None));
            requests.push(("GET", format!("/api/2/{u}"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 60);
    }

    #[test]
    fn a_leading_parameter_with_the_same_sub_resources_merges() {
        // Realms in the first segment, each under the same routes: one leading parameter. The
        // top-level resources of another host, each with sub-resources of its own, stay.
        let mut requests = Vec::new();
        for realm in &USERNAMES[..10] {
            for sub in ["clients", "users", "groups/roles"] {
                requests.push(("GET", format!("/{realm}/{sub}"), None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/{name}/clients"),
                ("GET", "/{name}/users"),
                ("GET", "/{name}/groups/roles"),
            ]),
            "{found:?}"
        );
        let mut requests = Vec::new();
        for (resource, subs) in [
            ("users", ["profile", "settings"]),
            ("orders", ["items", "refunds"]),
            ("products", ["variants", "images"]),
            ("invoices", ["lines", "payments"]),
            ("customers", ["addresses", "cards"]),
            ("teams", ["members", "projects"]),
            ("reports", ["daily", "weekly"]),
            ("webhooks", ["deliveries", "logs"]),
        ] {
            for sub in subs {
                requests.push(("GET", format!("/{resource}/{sub}"), None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 16, "{found:?}");
        // Right after the version: accounts, each under the same action.
        let mut requests: Vec<(&str, String, Option<u64>)> = USERNAMES
            .iter()
            .map(|a| ("POST", format!("/v3/{a}/hotels:setLive"), None))
            .collect();
        // A collection beside them stays, and so do API groups, each with its versions.
        requests.push(("GET", "/v3/projects/p1/brands".to_owned(), None));
        for group in &USERNAMES[..10] {
            for version in ["v1", "v2"] {
                requests.push(("GET", format!("/apis/{group}.io/{version}/pods"), None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 22, "{found:?}");
        assert!(
            found.contains(&("POST".to_owned(), "/v3/{name}/hotels:setLive".to_owned())),
            "{found:?}"
        );
    }

    #[test]
    fn apis_past_a_version_is_a_collection() {
        // `/api/v1/apis/<owner>`: the version closed the prefix, so the owners merge; right
        // after `/apis` at the start (Kubernetes' API groups) nothing does.
        let mut requests = Vec::new();
        for owner in USERNAMES {
            requests.push(("GET", format!("/api/v1/apis/{owner}"), None));
            requests.push(("GET", format!("/apis/{owner}"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert!(
            found.contains(&("GET".to_owned(), "/api/v1/apis/{name}".to_owned())),
            "{found:?}"
        );
        assert_eq!(found.len(), 1 + USERNAMES.len(), "{found:?}");
    }

    #[test]
    fn resources_before_a_custom_method_merge_after_the_version() {
        // `/v1beta/<resource>:lookupPolicy` for many resources merges; the plain literals at
        // the same position (collections right after the version) stay.
        let mut requests = Vec::new();
        for u in USERNAMES {
            requests.push(("POST", format!("/v1beta/{u}:lookupPolicy"), None));
            requests.push(("GET", format!("/v1beta/{u}"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        let merged = |(m, p): &(String, String)| {
            m == "POST" && p.starts_with("/v1beta/{") && p.ends_with("}:lookupPolicy")
        };
        assert!(found.iter().any(merged), "{found:?}");
        assert_eq!(found.len(), 1 + USERNAMES.len(), "{found:?}");
    }

    #[test]
    fn hot_leaves_that_answer_alike_are_values() {
        // Ten busy leaves named by words, served with `GET` alone: when each answers with some
        // of the same six fields they are values; when each answers with fields of its own they
        // are a family of resources.
        let names = [
            "summer", "winter", "autumn", "spring", "river", "mountain", "forest", "desert",
            "ocean", "valley",
        ];
        let alike = |i: usize| Some(0b11_1111u64 & !(1 << (i % 6)) & !(1 << ((i + 2) % 6)));
        let own = |i: usize| Some(0b1111u64 << (4 * i));
        for (fields, merged) in [(alike as fn(usize) -> Option<u64>, true), (own, false)] {
            let mut requests = vec![("GET", "/teams/42/boards".to_owned(), Some(1 << 60)); 3];
            for (i, name) in names.iter().enumerate() {
                for _ in 0..20 {
                    requests.push(("GET", format!("/teams/42/boards/{name}"), fields(i)));
                }
            }
            let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
            let expected = if merged { 2 } else { 1 + names.len() };
            assert_eq!(found.len(), expected, "{found:?}");
        }
    }

    #[test]
    fn a_value_called_api_deep_in_the_path_merges() {
        // A task list called `api` among the others: past the version prefix it is a value.
        let mut requests = Vec::new();
        for list in USERNAMES[..11].iter().copied().chain(["api"]) {
            requests.push(("GET", format!("/tasks/v1/lists/{list}/tasks"), None));
            requests.push(("POST", format!("/tasks/v1/lists/{list}/clear"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn a_distinct_literal_stays_next_to_the_parameter() {
        // `/faq/related` returns a list, every `/faq/{slug}` one entry.
        let mut requests = vec![("GET", "/faq".to_owned(), Some(1)); 20];
        for u in USERNAMES {
            requests.push(("GET", format!("/faq/how-to-{u}"), Some(7)));
        }
        for _ in 0..5 {
            requests.push(("GET", "/faq/related".to_owned(), Some(9)));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/faq"),
                ("GET", "/faq/related"),
                ("GET", "/faq/{faq}")
            ])
        );
    }

    #[test]
    fn values_whose_bodies_omit_optional_fields_merge() {
        // Each profile carries about half of sixteen optional fields (bits 0–15, drawn
        // pseudo-randomly), so two of them share about a third of their fields;
        // `/users/related` returns something else altogether.
        let half = |i: u64| {
            let mut x = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 32;
            x & 0xFFFF
        };
        let mut requests = vec![("GET", "/users".to_owned(), Some(1 << 40)); 20];
        for (i, u) in USERNAMES.iter().enumerate() {
            requests.push(("GET", format!("/users/{u}"), Some(half(i as u64))));
        }
        requests.push(("GET", "/users/related".to_owned(), Some(0xF << 20)));
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/users"),
                ("GET", "/users/related"),
                ("GET", "/users/{user}")
            ])
        );
    }

    #[test]
    fn a_sparse_response_does_not_keep_a_value_apart() {
        // Every order answers with its two required fields and some of six optional ones; one
        // answered with the required fields alone, which overlaps its siblings little but
        // brings nothing they lack. `/orders/summary` answers with fields of its own.
        let required = 0b11;
        let mut requests = vec![("GET", "/shop/orders".to_owned(), Some(1 << 50)); 3];
        for (i, u) in USERNAMES.iter().enumerate() {
            let optional = if i == 3 { 0 } else { 0b11_1111 << (2 + i % 3) };
            let path = format!("/shop/orders/{u}");
            requests.push(("GET", path, Some(required | optional)));
        }
        requests.push(("GET", "/shop/orders/summary".to_owned(), Some(0b111 << 30)));
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/shop/orders"),
                ("GET", "/shop/orders/summary"),
                ("GET", "/shop/orders/{order}")
            ])
        );
    }

    #[test]
    fn a_vocabulary_of_resources_does_not_merge() {
        // `/tasks/{id}/stories`, `/tasks/{id}/subtasks`…: each has its operation's traffic.
        let resources = [
            "stories",
            "subtasks",
            "dependencies",
            "dependents",
            "followers",
            "projects",
            "tags",
            "attachments",
            "duplicate",
            "addFollowers",
            "removeFollowers",
            "setParent",
        ];
        let mut requests = Vec::new();
        for i in 0..12 {
            requests.push(("GET", format!("/tasks/{}", 500 + i), Some(1)));
            for r in resources {
                requests.push(("GET", format!("/tasks/{}/{r}", 700 + i), Some(2)));
            }
        }
        for fields in [true, false] {
            let requests: Vec<_> = requests
                .iter()
                .map(|(m, p, f)| (*m, p.clone(), if fields { *f } else { None }))
                .collect();
            let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
            assert_eq!(found.len(), 1 + resources.len(), "fields: {fields}");
        }
    }

    #[test]
    fn slugs_after_a_slug_merge_top_down() {
        // `/repos/{owner}/{repo}/issues` with 20 owners and 20 repositories.
        let mut requests = Vec::new();
        for (i, owner) in USERNAMES.iter().enumerate() {
            let repo = format!("proj{}-{}", ["x", "q", "z"][i % 3], USERNAMES[(i * 7) % 20]);
            requests.push(("GET", format!("/repos/{owner}/{repo}"), None));
            requests.push((
                "GET",
                format!("/repos/{owner}/{repo}/issues/{}", i + 1),
                None,
            ));
            requests.push(("GET", format!("/repos/{owner}/{repo}/pulls"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/repos/{repo}/{name}"),
                ("GET", "/repos/{repo}/{name}/issues/{issueId}"),
                ("GET", "/repos/{repo}/{name}/pulls"),
            ])
        );
    }

    #[test]
    fn hot_values_with_the_same_subtrees_merge() {
        // A dozen owners, each under every route and seen many times, next to a `GET /` seen
        // twice: the traffic of the root says nothing about `/repos/{owner}`.
        let owners = &USERNAMES[..12];
        let mut requests = vec![
            ("GET", "/".to_owned(), None),
            ("GET", "/".to_owned(), None),
            ("GET", "/users/me".to_owned(), None),
        ];
        for _ in 0..20 {
            for (i, owner) in owners.iter().enumerate() {
                let repo = format!("service-{}", USERNAMES[19 - i]);
                for sub in ["issues", "pulls", "commits"] {
                    requests.push(("GET", format!("/repos/{owner}/{repo}/{sub}"), None));
                }
                requests.push(("GET", format!("/users/{owner}"), None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/"),
                ("GET", "/users/me"),
                ("GET", "/users/{user}"),
                ("GET", "/repos/{repo}/{name}/issues"),
                ("GET", "/repos/{repo}/{name}/pulls"),
                ("GET", "/repos/{repo}/{name}/commits"),
            ])
        );
    }

    #[test]
    fn few_siblings_with_the_same_subtrees_merge() {
        // Five tenants, fewer than `min_distinct`, each with the same three sub-resources.
        let mut requests = Vec::new();
        for tenant in [
            "acme-labs",
            "globexhq",
            "initech-io",
            "hooli-dev",
            "vandelay",
        ] {
            for sub in ["users", "billing", "invoices"] {
                for _ in 0..50 {
                    requests.push(("GET", format!("/tenants/{tenant}/{sub}"), None));
                }
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/tenants/{tenant}/users"),
                ("GET", "/tenants/{tenant}/billing"),
                ("GET", "/tenants/{tenant}/invoices"),
            ])
        );
        // Three are not enough, and neither are siblings whose subtrees differ.
        let few: Vec<_> = requests
            .iter()
            .filter(|(_, p, _)| !p.contains("hooli") && !p.contains("vandelay"))
            .cloned()
            .collect();
        assert_eq!(
            discover(&few, &HostRules::default(), &MergeSettings::default()).len(),
            9
        );
        // One sub-resource with the same long chain below it under each of five groups merges;
        // one short leaf under each of five settings named by words does not.
        let mut requests = Vec::new();
        for (group, setting) in [
            ("aperture-dev", "email"),
            ("cobalt-labs", "profile"),
            ("hooli-cloud", "billing"),
            ("stark-labs", "security"),
            ("soylent", "privacy"),
        ] {
            requests.push((
                "POST",
                format!("/groups/{group}/providers/Insights/events/default/query"),
                None,
            ));
            requests.push(("GET", format!("/settings/{setting}/edit"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 6, "{found:?}");
        assert!(
            found.iter().any(|(_, p)| p.starts_with("/groups/{")),
            "{found:?}"
        );
    }

    #[test]
    fn one_sibling_with_sub_resources_among_leaves_stays_literal() {
        // A dozen hot datasets, each a bare leaf, and `hmda` with sub-resources of its own.
        let mut requests = vec![("GET", "/data".to_owned(), None)];
        for _ in 0..30 {
            for user in &USERNAMES[..12] {
                requests.push(("GET", format!("/data/{user}-set"), None));
            }
            requests.push(("GET", "/data/hmda".to_owned(), None));
            requests.push(("GET", "/data/hmda/slice/metadata".to_owned(), None));
            requests.push(("GET", "/data/hmda/concept/geo".to_owned(), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/data"),
                ("GET", "/data/hmda"),
                ("GET", "/data/hmda/slice/metadata"),
                ("GET", "/data/hmda/concept/geo"),
                ("GET", "/data/{data}"),
            ])
        );
    }

    #[test]
    fn posted_collections_are_a_family_whatever_their_names() {
        // Kinds under a namespace, named without separators (not dictionary words), each a
        // collection with its own list and create and the same hot names below; the namespaces
        // themselves are values.
        let kinds = [
            "configmaps",
            "persistentvolumeclaims",
            "limitranges",
            "podtemplates",
            "resourcequotas",
            "serviceaccounts",
            "replicationcontrollers",
            "pods",
            "secrets",
        ];
        let namespaces = ["kube-system", "prodq", "stagingx", "zorvik", "tenantb"];
        let mut requests = Vec::new();
        for ns in namespaces {
            requests.push(("GET", format!("/api/v1/namespaces/{ns}"), None));
            for kind in kinds {
                requests.push(("GET", format!("/api/v1/namespaces/{ns}/{kind}"), None));
                requests.push(("POST", format!("/api/v1/namespaces/{ns}/{kind}"), None));
                for name in &USERNAMES[..10] {
                    requests.push((
                        "GET",
                        format!("/api/v1/namespaces/{ns}/{kind}/{name}"),
                        None,
                    ));
                }
            }
        }
        let found: BTreeSet<(String, String)> =
            discover(&requests, &HostRules::default(), &MergeSettings::default())
                .into_iter()
                .map(|(m, p)| (m, shape_of(&Template::parse(&p).expect("parses"))))
                .collect();
        let mut expected = vec![("GET", "/api/v1/namespaces/{}".to_owned())];
        for kind in kinds {
            expected.push(("GET", format!("/api/v1/namespaces/{{}}/{kind}")));
            expected.push(("POST", format!("/api/v1/namespaces/{{}}/{kind}")));
            expected.push(("GET", format!("/api/v1/namespaces/{{}}/{kind}/{{}}")));
        }
        let expected: BTreeSet<(String, String)> = expected
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn hot_items_with_sub_resources_that_are_not_words_merge() {
        // A dozen hot names, most of them word pairs, each an item (read, replaced, patched)
        // with the same sub-resources, a third of which are not words.
        let names = [
            "data-gateway",
            "docs-client",
            "search-gateway",
            "sync-cli",
            "web-monorepo",
            "api-vertex",
            "data-platform",
            "ui-cli",
            "fjordx_41",
            "globexq_89",
            "wayneq_12",
            "orbitz_4",
        ];
        let subs = [
            "attach",
            "binding",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "status",
            "ephemeralcontainers",
        ];
        let mut requests = vec![("GET", "/v1/ns/prod/pods".to_owned(), None)];
        for _ in 0..5 {
            for name in names {
                for method in ["GET", "PUT", "PATCH", "DELETE"] {
                    requests.push((method, format!("/v1/ns/prod/pods/{name}"), None));
                }
                for sub in subs {
                    requests.push(("GET", format!("/v1/ns/prod/pods/{name}/{sub}"), None));
                }
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 1 + 4 + subs.len(), "{found:?}");
    }

    /// A template with parameter names left out (`/a/{}/b`).
    fn shape_of(t: &Template) -> String {
        t.segments()
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => format!("/{text}"),
                Segment::Param { .. } => "/{}".to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_handful_of_handles_leading_to_one_chain_merge() {
        let settings = MergeSettings::default();
        // Three resource groups and five servers, each seen once or twice: one chain of words
        // below every group, `privateLinkResources` below every server.
        let mut requests = Vec::new();
        for (group, server) in [
            ("cyberdyne", "nimbus_7"),
            ("fjord-eng", "data-vandelay"),
            ("stark-dev", "nimbus_7"),
            ("stark-dev", "web-cobalt"),
            ("fjord-eng", "wonka_77"),
            ("cyberdyne", "mobile-sdk"),
        ] {
            requests.push((
                "GET",
                format!(
                    "/subscriptions/2f1c6a4e-96b1-4c47-8d2a-0c5f3b7e9a11/resourceGroups/{group}\
                     /providers/Microsoft.DBforMySQL/servers/{server}/privateLinkResources"
                ),
                None,
            ));
        }
        // Four regions, one word below each.
        for region in ["us-east1", "europe-west4", "mobile-v2", "sync_3"] {
            requests.push(("GET", format!("/locations/{region}/serviceTags"), None));
        }
        let found = discover(&requests, &HostRules::default(), &settings);
        assert_eq!(
            found,
            set(&[
                (
                    "GET",
                    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}\
                     /providers/Microsoft.DBforMySQL/servers/{server}/privateLinkResources"
                ),
                ("GET", "/locations/{location}/serviceTags"),
            ]),
        );

        // Words with the same chain below them are a family; so are handles whose chains
        // differ, and three handles with a chain of one word; a leading position needs more.
        let stays = |requests: &[(&'static str, String, Option<u64>)]| {
            let found = discover(requests, &HostRules::default(), &settings);
            assert_eq!(found.len(), requests.len(), "{found:?}");
        };
        stays(&["alpha", "bravo", "charlie"].map(|g| {
            (
                "GET",
                format!("/groups/{g}/providers/Insights/servers/list"),
                None,
            )
        }));
        stays(&[
            ("GET", "/groups/acme-1/providers/Insights".to_owned(), None),
            ("GET", "/groups/acme-2/backups/list".to_owned(), None),
            ("GET", "/groups/acme-3/users/list".to_owned(), None),
        ]);
        stays(
            &["us-east1", "mobile-v2", "sync_3"]
                .map(|r| ("GET", format!("/locations/{r}/tags"), None)),
        );
        stays(
            &["us-east1", "europe-west4", "mobile-v2", "sync_3"]
                .map(|r| ("GET", format!("/v1/{r}/serviceTags"), None)),
        );
    }

    #[test]
    fn a_few_handles_seen_once_are_values() {
        let settings = MergeSettings::default();
        let names = [
            "api-nimbus",
            "docs-kestrel",
            "edge-vandelay",
            "tundra_38",
            "orbithq",
        ];
        let once: Vec<_> = names
            .iter()
            .map(|n| ("GET", format!("/dgft/v1/iec/{n}"), None))
            .collect();
        let found = discover(&once, &HostRules::default(), &settings);
        assert_eq!(found, set(&[("GET", "/dgft/v1/iec/{iec}")]));
        // One of them asked for again still merges.
        let mut again = once.clone();
        again.push(once[0].clone());
        assert_eq!(discover(&again, &HostRules::default(), &settings).len(), 1);

        let stays = |requests: &[(&'static str, String, Option<u64>)]| {
            let found = discover(requests, &HostRules::default(), &settings);
            let distinct: BTreeSet<_> = requests.iter().map(|(m, p, _)| (m, p)).collect();
            assert_eq!(found.len(), distinct.len(), "{found:?}");
        };
        // Asked for again and again: fixed resources.
        stays(&[once.clone(), once.clone()].concat());
        // Words, even seen once each.
        stays(
            &["status", "history", "summary", "details", "owners"]
                .map(|n| ("GET", format!("/dgft/v1/iec/{n}"), None)),
        );
        // Served with different methods.
        let mut methods = once.clone();
        methods[0].0 = "POST";
        stays(&methods);
        // Formats of fixed resources.
        stays(
            &["boundingBox", "feature", "parts", "point"]
                .map(|n| ("GET", format!("/geomarks/{n}.geojson"), None)),
        );
        // Too few.
        stays(&once[..3]);
    }

    #[test]
    fn handles_mostly_seen_once_are_values_without_a_crowd() {
        let settings = MergeSettings::default();
        let names = [
            "api-tundra",
            "core-umbrella",
            "data-client",
            "edge-orbit",
            "infra-service",
            "massive_92",
            "ml-worker",
            "stark_63",
            "ui-tools",
            "web-aperture",
        ];
        let mut requests = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let method = ["GET", "POST", "DELETE"][i % 3];
            requests.push((method, format!("/tags/{name}"), None));
            if i < 3 {
                requests.push((method, format!("/tags/{name}"), None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &settings);
        assert_eq!(
            found,
            set(&[
                ("GET", "/tags/{tag}"),
                ("POST", "/tags/{tag}"),
                ("DELETE", "/tags/{tag}")
            ])
        );
        // Asked for three times each, they are fixed resources.
        let hot: Vec<_> = requests
            .iter()
            .flat_map(|r| [r.clone(), r.clone(), r.clone()])
            .collect();
        assert_eq!(
            discover(&hot, &HostRules::default(), &settings).len(),
            names.len()
        );
    }

    #[test]
    fn a_family_with_different_subtrees_stays_literal() {
        // Fourteen sub-resources of a database, most with their own children.
        let resources = [
            ("backups", "restore"),
            ("ca", ""),
            ("dbs", "tables"),
            ("firewall", ""),
            ("pools", "connections"),
            ("users", "reset_auth"),
            ("replicas", "promote"),
            ("maintenance", ""),
            ("migrate", ""),
            ("resize", ""),
            ("sql_mode", ""),
            ("eviction_policy", ""),
            ("upgrade", ""),
            ("config", ""),
        ];
        let mut requests = Vec::new();
        for i in 0..12 {
            let id = format!("9cc10173-e9ea-4176-9dbc-a4cee4c4ff{i:02}");
            // The database itself is busy: by traffic alone its sub-resources look like values.
            for _ in 0..10 {
                requests.push(("GET", format!("/v2/databases/{id}"), None));
            }
            for (r, child) in resources {
                requests.push(("GET", format!("/v2/databases/{id}/{r}"), None));
                if !child.is_empty() {
                    requests.push((
                        "GET",
                        format!("/v2/databases/{id}/{r}/{child}/status"),
                        None,
                    ));
                    requests.push(("GET", format!("/v2/databases/{id}/{r}/{child}/logs"), None));
                }
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        // The id is named after its collection; nothing below it became a parameter.
        for (r, _) in resources {
            assert!(
                found.contains(&(
                    "GET".to_owned(),
                    format!("/v2/databases/{{databaseId}}/{r}")
                )),
                "{r}: {found:?}"
            );
        }
        assert!(
            found
                .iter()
                .all(|(_, p)| p.matches('{').count() == 1 && p.contains("{databaseId}")),
            "{found:?}"
        );
    }

    #[test]
    fn two_values_in_a_row_merge_on_what_lies_below_them() {
        // `/providers/<namespace>/<type>/<name>/metrics`: every type (file names and slugs,
        // mostly words) leads to one name of its own, and every name to `metrics`.
        let pairs = [
            "Dockerfile/docs-preview",
            "README.md/nightly-build",
            "acme-staging/data.csv",
            "blue-green/my-template",
            "cron-cleanup/marketing-site",
            "docs-preview/gpu-pool",
            "logo.png/styles.css",
            "onboarding-flow/invoice-template",
            "production/schema.sql",
            "project-x/blue-green",
            "schema.sql/q3-report",
            "weekly-digest/batch-queue",
        ];
        let requests: Vec<_> = pairs
            .iter()
            .map(|pair| {
                (
                    "POST",
                    format!("/providers/Microsoft.Web/{pair}/metrics"),
                    None,
                )
            })
            .collect();
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let (_, path) = found.first().unwrap();
        assert_eq!(
            shape_of(&Template::parse(path).unwrap()),
            "/providers/Microsoft.Web/{}/{}/metrics"
        );
    }

    #[test]
    fn rules_win_over_merges() {
        let rules = HostRules {
            templates: vec![Template::parse("/repos/{owner}/{repo}").unwrap()],
            literals: vec!["/users/alice".to_owned()],
        };
        let observed = vec![
            Observed {
                method: "GET".to_owned(),
                template: "/repos/octocat/hello".to_owned(),
                hits: 3,
                fields: None,
            },
            Observed {
                method: "GET".to_owned(),
                template: "/repos/{repo}/{name}/pulls".to_owned(),
                hits: 3,
                fields: None,
            },
        ];
        let changes = merge(&observed, &rules, &MergeSettings::default());
        assert_eq!(
            changes,
            vec![
                (
                    "GET".to_owned(),
                    "/repos/octocat/hello".to_owned(),
                    "/repos/{owner:string}/{repo:string}".to_owned()
                ),
                (
                    "GET".to_owned(),
                    "/repos/{repo}/{name}/pulls".to_owned(),
                    "/repos/{owner:string}/{repo:string}/pulls".to_owned()
                ),
            ]
        );
        let requests: Vec<_> = USERNAMES
            .iter()
            .map(|u| ("GET", format!("/users/{u}"), None))
            .collect();
        let found = discover(&requests, &rules, &MergeSettings::default());
        assert_eq!(
            found,
            set(&[("GET", "/users/alice"), ("GET", "/users/{user}")])
        );
    }

    #[test]
    fn custom_methods_and_split_extensions_keep_their_endpoints() {
        let mut requests = Vec::new();
        for u in &USERNAMES[..12] {
            // Google-style custom methods next to the resource itself.
            requests.push(("GET", format!("/v1/projects/{u}"), None));
            requests.push(("POST", format!("/v1/projects/{u}:undelete"), None));
            requests.push(("POST", format!("/v1/projects/{u}:archive"), None));
            // A file extension on some paths of the same stems only.
            requests.push(("GET", format!("/numbers/{u}.json"), None));
            requests.push(("GET", format!("/numbers/{u}/Local.json"), None));
            // One resource in several formats beside the values.
            for format in ["json", "kml", "shp"] {
                requests.push(("GET", format!("/marks/{u}/boundingBox.{format}"), None));
                requests.push(("GET", format!("/marks/{u}/parts.{format}"), None));
            }
        }
        // Typed ids with a custom method.
        for i in 0..3 {
            requests.push((
                "POST",
                format!("/v1/operations/9cc10173-e9ea-4176-9dbc-a4cee4c4ff{i:02}:cancel"),
                None,
            ));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/v1/projects/{project}"),
                ("POST", "/v1/projects/{project}:undelete"),
                ("POST", "/v1/projects/{project}:archive"),
                ("GET", "/numbers/{number}.json"),
                ("GET", "/numbers/{number}/Local.json"),
                ("GET", "/marks/{mark}/boundingBox.json"),
                ("GET", "/marks/{mark}/boundingBox.kml"),
                ("GET", "/marks/{mark}/boundingBox.shp"),
                ("GET", "/marks/{mark}/parts.json"),
                ("GET", "/marks/{mark}/parts.kml"),
                ("GET", "/marks/{mark}/parts.shp"),
                ("POST", "/v1/operations/{operationId}:cancel"),
            ])
        );
    }

    #[test]
    fn late_values_join_the_parameter_beside_them() {
        // `/users/{user}/repos` was learned; two users whose literals reached the catalog just
        // after join it, a word (no responses to compare) and a literal with other sub-resources
        // do not.
        let observed: Vec<Observed> = [
            ("/users/{user:string}/repos", 40),
            ("/users/lukas/repos", 2),
            ("/users/fanvsfan/repos", 2),
            ("/users/related/repos", 2),
            ("/users/xkcd-bot/stars", 2),
            ("/repos/{repo:string}/{name:string}/issues", 30),
            ("/repos/brynary/kevinclark-tools/issues", 1),
        ]
        .iter()
        .map(|(t, hits)| Observed {
            method: "GET".to_owned(),
            template: (*t).to_owned(),
            hits: *hits,
            fields: None,
        })
        .collect();
        let changes = merge(&observed, &HostRules::default(), &MergeSettings::default());
        let moved: BTreeSet<&str> = changes.iter().map(|(_, from, _)| from.as_str()).collect();
        assert_eq!(
            moved,
            BTreeSet::from([
                "/users/lukas/repos",
                "/users/fanvsfan/repos",
                "/repos/brynary/kevinclark-tools/issues"
            ])
        );
    }

    #[test]
    fn a_later_round_rejudges_words_beside_a_learned_parameter() {
        // An early merge learned `/users/{user}/repos` and left `caged` literal (judged on partial
        // traffic). A later round sees it has the parameter's sub-resource, methods and
        // responses: it joins. A word whose responses differ, a word that is a bare leaf, a word
        // with a sub-resource of its own, and the protected `me` stay.
        let repos = 0b0111;
        let observed: Vec<Observed> = [
            ("GET", "/users/{user:string}/repos", 320, Some(repos)),
            ("GET", "/users/caged/repos", 16, Some(repos)),
            ("GET", "/users/roland/repos", 16, Some(repos)),
            ("GET", "/users/related/repos", 16, Some(0b1111_0000)),
            ("GET", "/users/popular", 16, Some(repos)),
            ("GET", "/users/trending/repos", 16, Some(repos)),
            ("GET", "/users/trending/stars", 16, Some(repos)),
            ("GET", "/users/me/repos", 16, Some(repos)),
            ("POST", "/users/invite/repos", 16, Some(repos)),
        ]
        .iter()
        .map(|(method, t, hits, fields)| Observed {
            method: (*method).to_owned(),
            template: (*t).to_owned(),
            hits: *hits,
            fields: *fields,
        })
        .collect();
        let changes = merge(&observed, &HostRules::default(), &MergeSettings::default());
        let moved: BTreeSet<(&str, &str)> = changes
            .iter()
            .map(|(_, from, to)| (from.as_str(), to.as_str()))
            .collect();
        assert_eq!(
            moved,
            BTreeSet::from([
                ("/users/caged/repos", "/users/{user:string}/repos"),
                ("/users/roland/repos", "/users/{user:string}/repos"),
            ])
        );
        // A rule that names the word keeps it literal.
        let rules = HostRules {
            literals: vec!["/users/caged/repos".to_owned()],
            ..HostRules::default()
        };
        let changes = merge(&observed, &rules, &MergeSettings::default());
        let moved: BTreeSet<&str> = changes.iter().map(|(_, from, _)| from.as_str()).collect();
        assert_eq!(moved, BTreeSet::from(["/users/roland/repos"]));
    }

    #[test]
    fn a_crowd_of_words_seen_once_are_values() {
        // Tag names, words or not, each seen once at a leaf with nothing above them.
        let names = [
            "blue-green",
            "canary",
            "production",
            "staging",
            "nightly",
            "README.md",
            "index.js",
            "weekly-digest",
            "project-x",
            "q3-report",
            "invoice",
            "marketing",
            "gpu-pool",
            "daily-backup",
            "schema.sql",
            "logo.png",
        ];
        let requests: Vec<_> = names
            .iter()
            .map(|n| ("DELETE", format!("/tags/{n}"), None))
            .collect();
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found, set(&[("DELETE", "/tags/{tag}")]));
        // Sixteen words requested again and again are fixed paths.
        let reports = [
            "daily",
            "weekly",
            "monthly",
            "yearly",
            "sales",
            "revenue",
            "churn",
            "growth",
            "traffic",
            "usage",
            "billing",
            "inventory",
            "orders",
            "refunds",
            "taxes",
            "payouts",
        ];
        let mut fixed = Vec::new();
        for n in reports {
            for _ in 0..3 {
                fixed.push(("GET", format!("/reports/{n}"), None));
            }
        }
        let found = discover(&fixed, &HostRules::default(), &MergeSettings::default());
        assert!(found.iter().all(|(_, p)| !p.contains('{')), "{found:?}");
    }

    #[test]
    fn fewer_named_values_seen_once_are_values() {
        // Ten names, words or not, each seen once at a leaf with nothing above them: fewer than
        // a crowd, yet not one was asked for twice.
        let names = [
            "blue-green",
            "staging",
            "README.md",
            "weekly-digest",
            "q3-report",
            "invoice-template",
            "gpu-pool",
            "logo.png",
            "checkout-v2",
            "us-east-1",
        ];
        let requests: Vec<_> = names
            .iter()
            .map(|n| ("GET", format!("/location/{n}"), None))
            .collect();
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found, set(&[("GET", "/location/{location}")]));
        // The same ten with one of them asked for twice: the numbered and file names are how
        // values are named, so the plain words are few enough.
        let mut again = requests.clone();
        again.push(("GET", "/location/staging".to_owned(), None));
        let found = discover(&again, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found, set(&[("GET", "/location/{location}")]));
        // Ten plain words asked for once each but with a sub-resource each, one asked twice:
        // a family of resources.
        let words = [
            "accounts",
            "balances",
            "payments",
            "refunds",
            "invoices",
            "credits",
            "disputes",
            "payouts",
            "transfers",
            "reports",
        ];
        let mut fixed: Vec<_> = words
            .iter()
            .map(|n| ("GET", format!("/ledger/{n}"), None))
            .collect();
        fixed.push(("GET", "/ledger/accounts".to_owned(), None));
        let found = discover(&fixed, &HostRules::default(), &MergeSettings::default());
        assert!(found.iter().all(|(_, p)| !p.contains('{')), "{found:?}");
    }

    /// Ten marketplaces below `prefix`, each with five orders of one account read with their
    /// history: `{prefix}/<marketplace>/{account}/{order}[/history]`.
    fn marketplace_orders(prefix: &str) -> Vec<(&'static str, String, Option<u64>)> {
        let marketplaces = [
            "amazon-de",
            "amazon-fr",
            "cdiscount-fr",
            "ebay-uk",
            "fnac-fr",
            "zalando-de",
            "otto-de",
            "bol-nl",
            "allegro-pl",
            "etsy-us",
        ];
        let mut requests = Vec::new();
        for (i, m) in marketplaces.iter().enumerate() {
            for j in 0..5 {
                let path = format!("{prefix}/{m}/{}/{}", 1000 + i, 50_000 + j);
                requests.push(("GET", path.clone(), None));
                requests.push(("GET", format!("{path}/history"), None));
            }
        }
        requests
    }

    #[test]
    fn resources_after_a_version_named_by_the_api_stay_literal() {
        // `/api.xro/2.0/<collection>`: the collections of the API, each listed, created and
        // read by id, hot as such resources are.
        let collections = [
            "Accounts",
            "BankTransactions",
            "Contacts",
            "Invoices",
            "Items",
            "Journals",
            "Payments",
            "Quotes",
            "Receipts",
            "Users",
        ];
        let mut requests = Vec::new();
        for (i, name) in collections.iter().enumerate() {
            for j in 0..4 {
                requests.push(("GET", format!("/api.xro/2.0/{name}"), None));
                requests.push(("POST", format!("/api.xro/2.0/{name}"), None));
                let id = format!("3fa85f64-5717-4562-b3fc-2c963f66a{i:02}{j}");
                requests.push(("GET", format!("/api.xro/2.0/{name}/{id}"), None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 3 * collections.len(), "{found:?}");
        assert!(
            found.iter().all(|(_, p)| !p.starts_with("/api.xro/2.0/{")),
            "{found:?}"
        );
        // Handles after such a version are values: a marketplace under every order route,
        // beside the API's own `batches`.
        let mut orders = marketplace_orders("/orders/v3");
        for _ in 0..3 {
            orders.push(("POST", "/orders/v3/batches/changeOrders".to_owned(), None));
            orders.push(("POST", "/orders/v3/batches/clearInfos".to_owned(), None));
        }
        let found = discover(&orders, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/orders/v3/{name}/{id2}/{id}"),
                ("GET", "/orders/v3/{name}/{id2}/{id}/history"),
                ("POST", "/orders/v3/batches/changeOrders"),
                ("POST", "/orders/v3/batches/clearInfos"),
            ])
        );
    }

    #[test]
    fn many_versions_side_by_side_are_values() {
        // Versions of an image, each read, replaced and deleted: values of `{version}`.
        let mut requests = Vec::new();
        for v in [
            "07.44", "16.59", "28.48", "33.91", "37.86", "37.98", "50.88", "56.81", "60.67",
            "95.66",
        ] {
            for method in ["GET", "PUT", "DELETE"] {
                let path = format!("/publishers/4711/offers/8812/skus/990/versions/{v}");
                requests.push((method, path, None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found.iter().all(|(_, p)| p.contains("/versions/{")),
            "{found:?}"
        );
        // A few API versions side by side stay what they are.
        let mut apis = Vec::new();
        for group in ["apps", "batch", "policy"] {
            for version in ["v1", "v1beta1", "v2"] {
                for _ in 0..3 {
                    apis.push(("GET", format!("/apis/{group}/{version}"), None));
                }
            }
        }
        let found = discover(&apis, &HostRules::default(), &MergeSettings::default());
        assert!(
            found
                .iter()
                .all(|(_, p)| p.ends_with("/v1") || p.ends_with("/v1beta1") || p.ends_with("/v2")),
            "{found:?}"
        );
    }

    #[test]
    fn handles_seen_as_values_elsewhere_are_values_where_few() {
        // Twelve repositories under one route, four of them under another.
        let repos = [
            "aperture-ml",
            "auth69",
            "search-worker",
            "web-app",
            "zephyr-docs",
            "core48",
            "edge-cli",
            "ml-sdk",
            "tundra-ml",
            "fjord-core",
            "data-client",
            "billing70",
        ];
        let mut requests = Vec::new();
        for r in repos {
            requests.push(("GET", format!("/rest/revisionInfo/{r}"), None));
        }
        for r in &repos[..4] {
            requests.push(("GET", format!("/rest/pathHistory/{r}"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/rest/pathHistory/{pathHistory}"),
                ("GET", "/rest/revisionInfo/{revisionInfo}"),
            ])
        );
        // Words that were values of a key elsewhere prove nothing where they are few.
        let mut words = Vec::new();
        for k in [
            "status",
            "theme",
            "locale",
            "timezone",
            "currency",
            "avatar",
            "banner",
            "signature",
            "language",
            "privacy",
        ] {
            words.push(("GET", format!("/settings/{k}"), None));
        }
        for k in ["status", "theme", "locale"] {
            for _ in 0..3 {
                words.push(("GET", format!("/jobs/{k}"), None));
            }
        }
        let found = discover(&words, &HostRules::default(), &MergeSettings::default());
        assert!(
            found.contains(&("GET".to_owned(), "/jobs/status".to_owned())),
            "{found:?}"
        );
        assert!(
            found.contains(&("GET".to_owned(), "/jobs/theme".to_owned())),
            "{found:?}"
        );
    }

    #[test]
    fn handles_beside_a_family_of_resources_merge_alone() {
        // Hot marketplaces, each with its orders, beside the collection's own resources.
        let mut requests = marketplace_orders("/user/orders");
        let family = [
            "invoices",
            "exports",
            "subscriptions",
            "batches",
            "transitions",
            "payments",
            "refunds",
            "shipments",
            "returns",
            "labels",
            "carriers",
        ];
        for name in family {
            for j in 0..6 {
                requests.push(("GET", format!("/user/orders/{name}"), None));
                requests.push(("POST", format!("/user/orders/{name}"), None));
                let item = format!("/user/orders/{name}/{}", 70_000 + j);
                requests.push(("GET", item, None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 2 + 3 * family.len(), "{found:?}");
        assert!(
            found
                .iter()
                .filter(|(_, p)| p.starts_with("/user/orders/{"))
                .all(|(_, p)| p.ends_with('}') || p.ends_with("/history")),
            "{found:?}"
        );
        for name in family {
            let list = format!("/user/orders/{name}");
            assert!(found.iter().any(|(_, p)| *p == list), "{list}: {found:?}");
        }
    }

    #[test]
    fn formats_of_one_resource_do_not_merge_into_one_segment() {
        // `{section}.json` and `{section}.jsonp`, each section once: not one `{}` for both.
        let mut requests = Vec::new();
        for (i, section) in [
            "arts", "business", "health", "home", "national", "opinion", "politics", "science",
            "sports", "world",
        ]
        .iter()
        .enumerate()
        {
            let format = if i % 2 == 0 { "json" } else { "jsonp" };
            requests.push((
                "GET",
                format!("/svc/topstories/v2/{section}.{format}"),
                None,
            ));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert!(
            found
                .iter()
                .all(|(_, p)| p.ends_with(".json") || p.ends_with(".jsonp")),
            "{found:?}"
        );
    }

    #[test]
    fn a_long_chain_through_values_of_their_own_merges_few_siblings() {
        // Four projects, each seen once, each in a region of its own.
        let mut requests = Vec::new();
        for (project, region) in [
            ("ml", "us-east1"),
            ("orbit-auth", "europe-west1"),
            ("payments-tools", "us-central1"),
            ("wayne-payments", "us-west1"),
        ] {
            let path = format!("/v1beta1/projects/{project}/locations/{region}/deliveryData");
            requests.push(("GET", path, None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert!(
            found
                .iter()
                .all(|(_, p)| p.starts_with("/v1beta1/projects/{project}/locations/")),
            "{found:?}"
        );
        // Four fixed leaves, each with its own chain to a different end, stay.
        let mut fixed = Vec::new();
        for (name, end) in [
            ("billing", "invoices"),
            ("identity", "users"),
            ("storage", "buckets"),
            ("network", "routes"),
        ] {
            for _ in 0..3 {
                fixed.push(("GET", format!("/v1/{name}/config/defaults/{end}"), None));
            }
        }
        let found = discover(&fixed, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|(_, p)| !p.contains('{')), "{found:?}");
    }

    #[test]
    fn a_family_of_collections_stays_literal() {
        // Below an account, collections named by words, each with ids of its own and
        // sub-resources that recur from one collection to the next.
        let collections = [
            ("billingProfiles", ["invoices", "customers", "products"]),
            ("invoiceSections", ["products", "transactions", "invoices"]),
            ("customers", ["products", "transfers", "invoices"]),
            ("departments", ["products", "transactions", "customers"]),
            ("enrollmentAccounts", ["products", "invoices", "transfers"]),
            (
                "billingSubscriptions",
                ["invoices", "transactions", "products"],
            ),
            ("agreements", ["customers", "products", "invoices"]),
            ("instructions", ["products", "invoices", "transfers"]),
        ];
        let mut requests = Vec::new();
        for (name, subs) in collections {
            for (i, u) in USERNAMES.iter().enumerate() {
                let sub = subs[i % subs.len()];
                requests.push((
                    "GET",
                    format!("/billingAccounts/acct-{i:04}/{name}/{u}-{i}/{sub}"),
                    None,
                ));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        for (name, _) in collections {
            assert!(
                found
                    .iter()
                    .any(|(_, p)| p.contains(&format!("}}/{name}/"))),
                "{name}: {found:?}"
            );
        }
    }

    #[test]
    fn collections_whose_items_share_one_pool_of_names_stay_literal() {
        // Below an account, collections named by words, each listed and holding items named
        // from one pool of names (mostly words) that every collection draws from: no item is a
        // collection's own, yet each collection's items are values of its own parameter.
        let collections = [
            "roleAssignments",
            "roleDefinitions",
            "transactions",
            "products",
            "invoices",
            "customers",
            "instructions",
            "transfers",
            "policies",
        ];
        let names = [
            "staging",
            "production",
            "blue-green",
            "checkout-v2",
            "nightly-build",
            "demo-env",
            "team-alpha",
            "weekly-digest",
            "gpu-pool",
            "canary-eu",
        ];
        let mut requests = Vec::new();
        for (i, collection) in collections.iter().enumerate() {
            for _ in 0..6 {
                requests.push(("GET", format!("/accounts/{}/{collection}", 100 + i), None));
            }
            for name in names {
                let path = format!("/accounts/{}/{collection}/{name}", 200 + i);
                requests.push(("GET", path, None));
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 2 * collections.len(), "{found:?}");
        for collection in collections {
            assert!(
                found.contains(&(
                    "GET".to_owned(),
                    format!("/accounts/{{accountId}}/{collection}")
                )),
                "{collection}: {found:?}"
            );
        }
    }

    #[test]
    fn a_hot_word_value_with_the_same_sub_resources_merges() {
        // Connections named by words; one of them far busier than the rest, with the same
        // sub-resource as every other.
        let mut requests = Vec::new();
        for (i, u) in USERNAMES.iter().enumerate() {
            let hits = if i == 0 { 40 } else { 1 };
            for _ in 0..hits {
                requests.push((
                    "GET",
                    format!(
                        "/namespaces/9cc10173-e9ea-4176-9dbc-a4cee4c4ff00/relays/{u}-tools/rules"
                    ),
                    None,
                ));
            }
        }
        requests.push((
            "GET",
            "/namespaces/9cc10173-e9ea-4176-9dbc-a4cee4c4ff00/relays/data-tools/rules".to_owned(),
            None,
        ));
        for _ in 0..40 {
            requests.push((
                "GET",
                "/namespaces/9cc10173-e9ea-4176-9dbc-a4cee4c4ff00/relays/data-tools/rules"
                    .to_owned(),
                None,
            ));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[("GET", "/namespaces/{namespaceId}/relays/{relay}/rules")])
        );
    }

    #[test]
    fn leaves_with_the_same_methods_are_values() {
        // A dozen hot tags named by words, each read, written and deleted many times.
        let tags = [
            "billing",
            "marketing",
            "docs",
            "core",
            "payments",
            "edge",
            "deploy",
            "mobile",
            "growth",
            "ledger",
            "archive",
            "reports",
        ];
        let mut requests = Vec::new();
        for tag in tags {
            for _ in 0..5 {
                for method in ["GET", "POST", "DELETE"] {
                    requests.push((method, format!("/tags/{tag}"), None));
                }
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/tags/{tag}"),
                ("POST", "/tags/{tag}"),
                ("DELETE", "/tags/{tag}")
            ])
        );
        // Fixed leaves with methods of their own stay.
        let mut fixed = Vec::new();
        for (i, tag) in tags.iter().enumerate() {
            for _ in 0..5 {
                fixed.push(("GET", format!("/settings/{tag}"), None));
                if i % 2 == 0 {
                    fixed.push(("PUT", format!("/settings/{tag}"), None));
                }
            }
        }
        let found = discover(&fixed, &HostRules::default(), &MergeSettings::default());
        assert!(found.iter().all(|(_, p)| !p.contains('{')), "{found:?}");
    }

    #[test]
    fn handles_read_and_written_in_place_are_values() {
        // A dozen hot definitions named by handles, each read and replaced many times, beside
        // the collection's list.
        let names = [
            "api-orbit",
            "auth-sdk",
            "core-app",
            "acme_37",
            "lumen_27",
            "infra-sdk",
            "sync-worker",
            "ui-client",
            "tundra_12",
            "search-quanta",
            "edge-sdk",
            "payments-orbit",
        ];
        let mut requests = vec![(
            "GET",
            "/providers/Acme.Billing/definitions".to_owned(),
            None,
        )];
        for name in names {
            for _ in 0..3 {
                for method in ["GET", "PUT"] {
                    let path = format!("/providers/Acme.Billing/definitions/{name}");
                    requests.push((method, path, None));
                }
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/providers/Acme.Billing/definitions"),
                ("GET", "/providers/Acme.Billing/definitions/{definition}"),
                ("PUT", "/providers/Acme.Billing/definitions/{definition}"),
            ])
        );
        // Fixed leaves named by words, each read and replaced alike, stay.
        let config = [
            "appsettings",
            "authsettings",
            "connectionstrings",
            "logs",
            "metadata",
            "web",
            "backup",
            "pushsettings",
            "slotConfigNames",
            "storage",
        ];
        let mut fixed = Vec::new();
        for name in config {
            for _ in 0..3 {
                for method in ["GET", "PUT"] {
                    fixed.push((method, format!("/sites/4711/config/{name}"), None));
                }
            }
        }
        let found = discover(&fixed, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), 2 * config.len(), "{found:?}");
    }

    #[test]
    fn hot_leaves_that_recur_under_sibling_routes_are_values() {
        // A dozen stations, each requested many times under each of four routes that take one.
        let stations = [
            "payments",
            "api-hooli",
            "auth-app",
            "cobalt_37",
            "data-platform",
            "initech_28",
            "ml-quanta",
            "search-platform",
            "search-zephyr",
            "umbrella_24",
            "billing",
            "growth",
        ];
        let routes = [
            "getArrivalsByCRS",
            "getDeparturesByCRS",
            "getFastestDeparturesByCRS",
            "getNextDeparturesByCRS",
        ];
        let mut requests = Vec::new();
        for route in routes {
            for station in stations {
                for _ in 0..20 {
                    requests.push(("GET", format!("/api/v2.0/{route}/{station}"), None));
                }
            }
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), routes.len(), "{found:?}");
        assert!(found.iter().all(|(_, p)| p.ends_with('}')), "{found:?}");
        // Sub-resources named by words below a few items not merged yet stay.
        let mut items = Vec::new();
        for user in ["octocat", "torvalds", "gaearon"] {
            for sub in [
                "followers",
                "following",
                "repos",
                "gists",
                "events",
                "orgs",
                "starred",
                "subscriptions",
                "keys",
                "packages",
            ] {
                for _ in 0..20 {
                    items.push(("GET", format!("/users/{user}/{sub}"), None));
                }
            }
        }
        let found = discover(&items, &HostRules::default(), &MergeSettings::default());
        assert!(found.iter().all(|(_, p)| !p.ends_with('}')), "{found:?}");
        // Hot names below one route only stay: nothing shows they are not its fixed leaves
        // (numbered names such as `cobalt_37` are named like values, so none here).
        let names = stations.map(|s| s.trim_end_matches(|c: char| c == '_' || c.is_ascii_digit()));
        let mut one = Vec::new();
        for station in names {
            for _ in 0..20 {
                one.push(("GET", format!("/api/v2.0/getArrivalsByCRS/{station}"), None));
            }
        }
        let found = discover(&one, &HostRules::default(), &MergeSettings::default());
        assert_eq!(found.len(), stations.len(), "{found:?}");
    }

    #[test]
    fn values_under_several_custom_methods_count_together() {
        // Ranges of a sheet, each read, cleared or appended to: four values per suffix, eight
        // distinct in all.
        let mut requests = Vec::new();
        for (i, u) in USERNAMES[..12].iter().enumerate() {
            let (method, suffix) = match i % 3 {
                0 => ("GET", ""),
                1 => ("POST", ":clear"),
                _ => ("POST", ":append"),
            };
            requests.push((method, format!("/sheets/s1/values/{u}{suffix}"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        assert_eq!(
            found,
            set(&[
                ("GET", "/sheets/s1/values/{value}"),
                ("POST", "/sheets/s1/values/{value}:clear"),
                ("POST", "/sheets/s1/values/{value}:append"),
            ])
        );
    }

    #[test]
    fn numbers_inside_a_constant_text_are_parameters() {
        let mut requests = Vec::new();
        for n in 1..=12 {
            requests.push(("GET", format!("/feeds/page-{n}.rss"), None));
            requests.push(("GET", format!("/docs/part{n}"), None));
        }
        // Two or three of a kind are not enough.
        for v in ["oauth1", "oauth2"] {
            requests.push(("GET", format!("/login/{v}"), None));
        }
        let found = discover(&requests, &HostRules::default(), &MergeSettings::default());
        let templates: BTreeSet<&str> = found.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(templates.len(), 4, "{found:?}");
        assert!(
            templates
                .iter()
                .any(|t| t.starts_with("/feeds/page-{") && t.ends_with("}.rss"))
        );
        assert!(templates.iter().any(|t| t.starts_with("/docs/part{")));
        assert!(templates.contains("/login/oauth1") && templates.contains("/login/oauth2"));
    }

    #[test]
    fn typed_parameters_at_one_position_unify() {
        let observed = vec![
            Observed {
                method: "GET".to_owned(),
                template: "/things/{thingId:integer}".to_owned(),
                hits: 3,
                fields: None,
            },
            Observed {
                method: "GET".to_owned(),
                template: "/things/{thingId:uuid}".to_owned(),
                hits: 3,
                fields: None,
            },
        ];
        let changes = merge(&observed, &HostRules::default(), &MergeSettings::default());
        let targets: BTreeSet<&str> = changes.iter().map(|(_, _, to)| to.as_str()).collect();
        assert_eq!(targets, BTreeSet::from(["/things/{thingId:string}"]));
    }

    #[test]
    fn merging_reaches_a_fixed_point() {
        let requests = small_api(true);
        let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (m, p, _) in &requests {
            *seen
                .entry((
                    (*m).to_owned(),
                    templatize(p, &HostRules::default()).annotated(),
                ))
                .or_default() += 1;
        }
        let observed: Vec<Observed> = seen
            .into_iter()
            .map(|((method, template), hits)| Observed {
                method,
                template,
                hits,
                fields: None,
            })
            .collect();
        let settings = MergeSettings::default();
        let changes = merge(&observed, &HostRules::default(), &settings);
        assert!(!changes.is_empty());
        let renamed: BTreeMap<(String, String), String> =
            changes.into_iter().map(|(m, f, t)| ((m, f), t)).collect();
        let mut again: BTreeMap<(String, String), u64> = BTreeMap::new();
        for o in &observed {
            let t = renamed
                .get(&(o.method.clone(), o.template.clone()))
                .cloned()
                .unwrap_or_else(|| o.template.clone());
            *again.entry((o.method.clone(), t)).or_default() += o.hits;
        }
        let second: Vec<Observed> = again
            .into_iter()
            .map(|((method, template), hits)| Observed {
                method,
                template,
                hits,
                fields: None,
            })
            .collect();
        assert_eq!(merge(&second, &HostRules::default(), &settings), vec![]);
    }

    #[test]
    fn unparsable_templates_are_left_alone() {
        let observed = vec![Observed {
            method: "GET".to_owned(),
            template: "no-slash".to_owned(),
            hits: 1,
            fields: None,
        }];
        assert!(merge(&observed, &HostRules::default(), &MergeSettings::default()).is_empty());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn merge_output_parses_with_unique_names(
                paths in prop::collection::vec(
                    prop::collection::vec(
                        prop::sample::select(vec![
                            "users", "alice", "bob", "octocat", "me", "repos", "hello-world",
                            "12", "v1", "api", "x7k9p2q4", "2024-05-01", "tasks", "zed", "qux",
                            "a.json", "b.json", "%41", "{id}",
                        ]),
                        1..6,
                    ),
                    0..60,
                ),
                min_distinct in 1usize..6,
            ) {
                let observed: Vec<Observed> = paths
                    .iter()
                    .enumerate()
                    .map(|(i, segments)| Observed {
                        method: if i % 3 == 0 { "POST" } else { "GET" }.to_owned(),
                        template: templatize(&format!("/{}", segments.join("/")), &HostRules::default())
                            .annotated(),
                        hits: 1 + (i as u64 % 5),
                        fields: (i % 2 == 0).then_some(i as u64 % 3),
                    })
                    .collect();
                let settings = MergeSettings { min_distinct, ..MergeSettings::default() };
                for (_, from, to) in merge(&observed, &HostRules::default(), &settings) {
                    let to = Template::parse(&to);
                    prop_assert!(to.is_some());
                    let to = to.unwrap_or_else(|| unreachable!());
                    let names: BTreeSet<&str> = to.params().iter().map(|p| p.name.as_str()).collect();
                    prop_assert_eq!(names.len(), to.params().len());
                    prop_assert!(observed.iter().any(|o| o.template == from));
                }
            }
        }
    }
}
