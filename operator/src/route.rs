//! Builds the optional HTTPRoute (pure, no client), and reads the conditions Gateways write on it.
//!
//! # Why hand-written types
//! The `gateway-api` crate's types are built against an older kube and k8s-openapi than this
//! workspace, so its `HTTPRoute` cannot be used with our `Api<T>`. kopium could generate the full
//! types from the CRDs, but the route the operator writes uses a dozen fields, and a typed subset
//! keeps the drift check exact: only the fields declared here are compared and applied. Unknown
//! fields of a live route are simply not read.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::crd::{RouteParentRef, RouteScheme, TetrisAppSpec};
use crate::meta::Parent;

/// API group of the Gateway API.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// The part of `HTTPRoute` (`gateway.networking.k8s.io/v1`) the operator writes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "HTTPRoute",
    root = "HttpRoute",
    namespaced,
    derive = "PartialEq",
    status = "HttpRouteStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// Gateways the route attaches to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_refs: Vec<ParentReference>,
    /// Host names the route answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Matching rules and where they send requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RouteRule>,
}

/// A reference to a Gateway (or one of its listeners).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// API group of the parent (`gateway.networking.k8s.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind of the parent (`Gateway`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the parent.
    pub name: String,
    /// Namespace of the parent; absent is the route's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Listener name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// One rule of the route.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RouteRule {
    /// Requests this rule takes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<RouteMatch>,
    /// Where matching requests go, with weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<BackendRef>,
    /// Request timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<RouteTimeouts>,
}

/// A request match: by path, and for a canary's testers by header.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RouteMatch {
    /// Path match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathMatch>,
    /// Header matches (all must match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatch>,
}

/// A header match of a route rule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HeaderMatch {
    /// `Exact` or `RegularExpression`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Header name.
    pub name: String,
    /// Value, or regular expression.
    pub value: String,
}

/// A path match.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PathMatch {
    /// `PathPrefix`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A Service the route sends requests to.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BackendRef {
    /// Core group (`""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// `Service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the Service.
    pub name: String,
    /// Port of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Relative share of the requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Request timeouts of a rule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RouteTimeouts {
    /// Whole request, client to Gateway and back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// One request from the Gateway to the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_request: Option<String>,
}

/// What the Gateways' controllers report about the route.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteStatus {
    /// One entry per parent a controller handles.
    #[serde(default)]
    pub parents: Vec<RouteParentStatus>,
}

/// The status of the route for one parent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    /// The parent this entry is about.
    pub parent_ref: ParentReference,
    /// The controller that wrote it.
    #[serde(default)]
    pub controller_name: String,
    /// `Accepted`, `ResolvedRefs` and others.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// The HTTPRoute named like the TetrisApp: `spec.route`'s parents, host names and path prefix to
/// the Service's port, with the request timeout off by default for WebSocket sessions. `None` when
/// `spec.route` is unset.
pub fn build(parent: &Parent, spec: &TetrisAppSpec) -> Option<HttpRoute> {
    let route = spec.route.as_ref()?;
    let mut metadata = parent.child_meta(parent.name.clone(), "game-server", true);
    metadata.annotations = (!route.annotations.is_empty()).then(|| route.annotations.clone());
    let timeout = Some(route.request_timeout.clone());
    Some(HttpRoute {
        metadata,
        spec: HttpRouteSpec {
            parent_refs: route.parent_refs.iter().map(parent_reference).collect(),
            hostnames: route.hostnames.clone(),
            rules: vec![RouteRule {
                matches: vec![RouteMatch {
                    path: Some(PathMatch {
                        type_: Some("PathPrefix".to_owned()),
                        value: Some(route.path.clone()),
                    }),
                    headers: Vec::new(),
                }],
                backend_refs: backends(parent, spec),
                timeouts: Some(RouteTimeouts { request: timeout.clone(), backend_request: timeout }),
            }],
        },
        status: None,
    })
}

/// The Services new requests go to, with their weights (one, the app's Service, until a canary
/// splits traffic).
fn backends(parent: &Parent, spec: &TetrisAppSpec) -> Vec<BackendRef> {
    vec![backend(parent.name.clone(), spec, 1)]
}

fn backend(name: String, spec: &TetrisAppSpec, weight: i32) -> BackendRef {
    BackendRef {
        group: Some(String::new()),
        kind: Some("Service".to_owned()),
        name,
        port: Some(spec.service.port),
        weight: Some(weight),
    }
}

/// Who a canary's A/B step sends to the new version: one header match of the route.
#[derive(Debug, Clone, PartialEq)]
pub struct Testers {
    /// Header name (`Cookie` for a cookie).
    pub header: String,
    /// How the value is compared.
    pub match_type: MatchType,
    /// The value or regular expression.
    pub value: String,
}

impl Testers {
    /// The header match of an A/B step. A cookie is one `name=value` pair anywhere in the
    /// `Cookie` header, so it becomes a regular expression anchored at pair boundaries.
    pub fn of(step: &crate::rollout::api::TestersStep) -> Option<Testers> {
        if let Some(h) = &step.header {
            return Some(match (&h.value, &h.regex) {
                (Some(v), _) => {
                    Testers { header: h.name.clone(), match_type: MatchType::Exact, value: v.clone() }
                }
                (None, Some(r)) => Testers {
                    header: h.name.clone(),
                    match_type: MatchType::RegularExpression,
                    value: r.clone(),
                },
                (None, None) => return None,
            });
        }
        let c = step.cookie.as_ref()?;
        Some(Testers {
            header: "Cookie".to_owned(),
            match_type: MatchType::RegularExpression,
            value: format!("(^|;\\s*){}={}(;|$)", regex_escape(&c.name), regex_escape(&c.value)),
        })
    }
}

/// A Gateway API header match type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    /// The value equals (core support).
    Exact,
    /// The value matches a regular expression (implementation-specific support and dialect).
    RegularExpression,
}

impl MatchType {
    /// The name Gateway API gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Exact => "Exact",
            MatchType::RegularExpression => "RegularExpression",
        }
    }
}

/// Escapes the characters a regular expression gives a meaning (the schema allows only `.` of
/// them in cookie names and values, but the escape does not rely on that).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if "\\.+*?()|[]{}^$".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Puts a canary into the route: the rule's backends become the stable Service (`<name>`, weight
/// `100 - weight`) and the canary Service (`<name>-canary`, `weight`), and testers, if any, get a
/// rule of their own that sends them to the canary Service. Gateway API gives a rule with more
/// header matches precedence over one with fewer on the same path, so the testers' rule wins for
/// their requests whatever the order; it is put first anyway, for people reading the route.
pub fn split(
    route: &mut HttpRoute,
    parent: &Parent,
    spec: &TetrisAppSpec,
    weight: i32,
    testers: Option<&Testers>,
) {
    let canary = crate::rollout::canary::canary_name(parent);
    let weight = weight.clamp(0, 100);
    let Some(main) = route.spec.rules.first_mut() else { return };
    main.backend_refs =
        vec![backend(parent.name.clone(), spec, 100 - weight), backend(canary.clone(), spec, weight)];
    if let Some(t) = testers {
        let mut rule = main.clone();
        for m in &mut rule.matches {
            m.headers = vec![HeaderMatch {
                type_: Some(t.match_type.as_str().to_owned()),
                name: t.header.clone(),
                value: t.value.clone(),
            }];
        }
        rule.backend_refs = vec![backend(canary, spec, 1)];
        route.spec.rules.insert(0, rule);
    }
}

fn parent_reference(p: &RouteParentRef) -> ParentReference {
    ParentReference {
        group: Some(GATEWAY_GROUP.to_owned()),
        kind: Some("Gateway".to_owned()),
        name: p.name.clone(),
        namespace: p.namespace.clone(),
        section_name: p.section_name.clone(),
    }
}

/// The public URL of the game through the route, when it names a host (a wildcard host has no single URL).
pub fn public_url(spec: &TetrisAppSpec) -> Option<String> {
    let route = spec.route.as_ref()?;
    let host = route.hostnames.iter().find(|h| !h.starts_with('*'))?;
    let scheme = match route.scheme {
        RouteScheme::Https => "https",
        RouteScheme::Http => "http",
    };
    Some(format!("{scheme}://{host}{}", route.path))
}

/// What the Gateways say about one condition type of the route, over every parent the spec names.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteCondition {
    /// `True`, `False` or `Unknown` (no Gateway controller has reported on some parent yet).
    pub status: &'static str,
    /// The Gateway's reason (or `Pending`).
    pub reason: String,
    /// Which parent said what.
    pub message: String,
}

/// The route's condition `type_` (`Accepted`, `ResolvedRefs`) across the parents of `spec.route`:
/// False if any parent says False, True if every parent says True, otherwise Unknown.
pub fn condition(
    spec: &TetrisAppSpec,
    namespace: &str,
    live: Option<&HttpRoute>,
    type_: &str,
) -> Option<RouteCondition> {
    let route = spec.route.as_ref()?;
    let parents = live.and_then(|r| r.status.as_ref()).map(|s| s.parents.as_slice()).unwrap_or_default();
    let mut answers: Vec<(String, Option<&Condition>)> = Vec::new();
    for wanted in &route.parent_refs {
        let ns = wanted.namespace.as_deref().unwrap_or(namespace);
        let name = match &wanted.section_name {
            Some(section) => format!("Gateway {ns}/{}, listener {section}", wanted.name),
            None => format!("Gateway {ns}/{}", wanted.name),
        };
        let found = parents
            .iter()
            .filter(|p| {
                p.parent_ref.name == wanted.name
                    && p.parent_ref.namespace.as_deref().unwrap_or(namespace) == ns
                    && p.parent_ref.section_name == wanted.section_name
            })
            .find_map(|p| p.conditions.iter().find(|c| c.type_ == type_));
        answers.push((name, found));
    }
    let describe = |(name, c): &(String, Option<&Condition>)| match c {
        Some(c) if c.message.is_empty() => format!("{name}: {} ({})", c.status, c.reason),
        Some(c) => format!("{name}: {} ({}): {}", c.status, c.reason, c.message),
        None => format!("{name}: no status yet from its controller"),
    };
    let reason_of =
        |c: &Condition| if c.reason.is_empty() { "Unspecified".to_owned() } else { c.reason.clone() };
    let falses: Vec<_> = answers.iter().filter(|(_, c)| c.is_some_and(|c| c.status == "False")).collect();
    if let Some((_, Some(first))) = falses.first() {
        let reason = reason_of(first);
        let message = bounded(falses.iter().map(|a| describe(a)).collect::<Vec<_>>().join("; "));
        return Some(RouteCondition { status: "False", reason, message });
    }
    if answers.iter().all(|(_, c)| c.is_some_and(|c| c.status == "True")) {
        let reason =
            answers.first().and_then(|(_, c)| c.map(reason_of)).unwrap_or_else(|| "Accepted".to_owned());
        let message = bounded(answers.iter().map(describe).collect::<Vec<_>>().join("; "));
        return Some(RouteCondition { status: "True", reason, message });
    }
    let message = bounded(answers.iter().map(describe).collect::<Vec<_>>().join("; "));
    Some(RouteCondition { status: "Unknown", reason: "Pending".to_owned(), message })
}

/// Gateway messages are copied into a condition, whose message the API server caps at 32768 bytes.
fn bounded(mut message: String) -> String {
    const MAX: usize = 2048;
    if message.len() > MAX {
        let mut end = MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("...");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::fixtures::app;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn built(spec: &str) -> (Option<HttpRoute>, TetrisAppSpec) {
        let app = app(spec);
        let parent = Parent::of(&app).expect("fixture has metadata");
        (build(&parent, &app.spec), app.spec)
    }

    const ROUTE: &str = "version: 1.0.0\nroute:\n  parentRefs:\n  - name: public\n    namespace: gateways\n    sectionName: https\n  hostnames: [tetris.example.com]\n  path: /play";

    #[test]
    fn absent_route_builds_nothing() {
        assert_eq!(built("version: 1.0.0").0, None);
    }

    #[test]
    fn route_attaches_to_the_gateway_and_sends_the_path_to_the_service() {
        let (route, spec) = built(ROUTE);
        let route = route.expect("route");
        assert_eq!(route.metadata.name.as_deref(), Some("arcade"));
        let p = &route.spec.parent_refs[0];
        assert_eq!(
            (p.name.as_str(), p.namespace.as_deref(), p.section_name.as_deref()),
            ("public", Some("gateways"), Some("https"))
        );
        assert_eq!(p.kind.as_deref(), Some("Gateway"));
        assert_eq!(route.spec.hostnames, ["tetris.example.com"]);
        let rule = &route.spec.rules[0];
        let path = rule.matches[0].path.as_ref().expect("path match");
        assert_eq!((path.type_.as_deref(), path.value.as_deref()), (Some("PathPrefix"), Some("/play")));
        let backend = &rule.backend_refs[0];
        assert_eq!((backend.name.as_str(), backend.port, backend.weight), ("arcade", Some(80), Some(1)));
        let timeouts = rule.timeouts.as_ref().expect("timeouts");
        assert_eq!(timeouts.request.as_deref(), Some("0s"), "WebSocket sessions outlive any request timeout");
        assert_eq!(timeouts.backend_request.as_deref(), Some("0s"));
        assert_eq!(public_url(&spec).as_deref(), Some("https://tetris.example.com/play"));
    }

    #[test]
    fn a_wildcard_host_has_no_single_url() {
        let (_, spec) = built(
            "version: 1.0.0\nroute:\n  parentRefs: [{name: gw}]\n  hostnames: ['*.example.com']\n  scheme: http",
        );
        assert_eq!(public_url(&spec), None);
        let (_, spec) = built(
            "version: 1.0.0\nroute:\n  parentRefs: [{name: gw}]\n  hostnames: ['*.example.com', t.example.com]\n  scheme: http",
        );
        assert_eq!(public_url(&spec).as_deref(), Some("http://t.example.com/"));
    }

    fn cond(type_: &str, status: &str, reason: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }
    }

    fn with_status(conditions: Vec<Condition>) -> HttpRoute {
        let (route, _) = built(ROUTE);
        let mut route = route.expect("route");
        route.status = Some(HttpRouteStatus {
            parents: vec![RouteParentStatus {
                parent_ref: ParentReference {
                    name: "public".into(),
                    namespace: Some("gateways".into()),
                    section_name: Some("https".into()),
                    ..Default::default()
                },
                controller_name: "example.com/gateway".into(),
                conditions,
            }],
        });
        route
    }

    #[test]
    fn route_conditions_come_from_the_parent_the_spec_names() {
        let (_, spec) = built(ROUTE);
        let pending = condition(&spec, "games", None, "Accepted").expect("route asked for");
        assert_eq!((pending.status, pending.reason.as_str()), ("Unknown", "Pending"));
        let live = with_status(vec![
            cond("Accepted", "True", "Accepted"),
            cond("ResolvedRefs", "False", "BackendNotFound"),
        ]);
        let accepted = condition(&spec, "games", Some(&live), "Accepted").expect("asked");
        assert_eq!(accepted.status, "True");
        let refs = condition(&spec, "games", Some(&live), "ResolvedRefs").expect("asked");
        assert_eq!((refs.status, refs.reason.as_str()), ("False", "BackendNotFound"));
        assert!(refs.message.contains("Gateway gateways/public, listener https"), "{}", refs.message);
        assert_eq!(condition(&built("version: 1.0.0").1, "games", Some(&live), "Accepted"), None);
    }

    #[test]
    fn a_status_about_another_listener_does_not_count() {
        let (_, spec) = built(ROUTE);
        let mut live = with_status(vec![cond("Accepted", "True", "Accepted")]);
        if let Some(s) = live.status.as_mut() {
            s.parents[0].parent_ref.section_name = Some("http".into());
        }
        assert_eq!(condition(&spec, "games", Some(&live), "Accepted").expect("asked").status, "Unknown");
    }

    #[test]
    fn a_cookie_is_one_pair_of_the_cookie_header_and_is_escaped() {
        let step: crate::rollout::api::TestersStep =
            serde_yaml::from_str("cookie: {name: tetris.canary, value: \"on\"}").expect("step");
        let t = Testers::of(&step).expect("testers");
        assert_eq!((t.header.as_str(), t.match_type), ("Cookie", MatchType::RegularExpression));
        assert_eq!(t.value, r"(^|;\s*)tetris\.canary=on(;|$)");
        let step: crate::rollout::api::TestersStep =
            serde_yaml::from_str("header: {name: X-Beta, regex: '^(yes|1)$'}").expect("step");
        assert_eq!(Testers::of(&step).map(|t| t.match_type), Some(MatchType::RegularExpression));
    }
}
