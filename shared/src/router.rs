//! The one way every HTTP function routes: a static table of `METHOD /path/{param}` rows, each
//! naming a value of the function's own route enum, written as the template's `RouteKey`s are.
//!
//! ```
//! use lambda_http::http::Method;
//! use shared::router::{Route, Router};
//!
//! #[derive(Clone, Copy, Debug, PartialEq)]
//! enum Op { List, Get }
//!
//! static ROUTES: Router<Op> = Router(&[
//!     Route::new(Method::GET, "/products", Op::List),
//!     Route::new(Method::GET, "/products/{id}", Op::Get),
//! ]);
//!
//! let (op, params) = ROUTES.resolve(&Method::GET, "/products/42").unwrap();
//! assert_eq!((op, params.get("id")), (Op::Get, Some("42")));
//! let wrong_method = ROUTES.resolve(&Method::DELETE, "/products/42").unwrap_err();
//! assert_eq!((wrong_method.status, wrong_method.allow.as_deref()), (405, Some("GET")));
//! assert_eq!(ROUTES.resolve(&Method::GET, "/nope").unwrap_err().status, 404);
//! ```
//!
//! Templates follow API Gateway's route keys: a literal segment matches itself, `{name}` one
//! non-empty segment, and a last `{name+}` the rest of the path (one segment or more). A
//! trailing slash on the request path is ignored. Parameters are the raw (still
//! percent-encoded) segments: the handler parses them into its own types, and a value that does
//! not parse is its 404. A malformed template is a compile error (tables are `static`, built
//! in const context); matching allocates nothing, and only a miss builds its problem.

use lambda_http::Request;
use lambda_http::http::Method;

use crate::http::Problem;

/// The most parameters one template may have.
pub const MAX_PARAMS: usize = 4;

/// One row of a route table: a method, a path template, and what the function does for it.
#[derive(Debug)]
pub struct Route<T> {
    method: Method,
    template: &'static str,
    target: T,
    head: bool,
}

impl<T> Route<T> {
    /// A row.
    ///
    /// # Panics
    /// At compile time (tables are `static`), when `template` is not a route template: see
    /// the [module](self) documentation.
    #[must_use]
    pub const fn new(method: Method, template: &'static str, target: T) -> Self {
        if let Err(why) = check_template(template) {
            panic!("{}", why);
        }
        Self {
            method,
            template,
            target,
            head: false,
        }
    }

    /// A `GET` row that also answers `HEAD`, as RFC 9110 (9.3.2) asks of a server of files:
    /// the handler sees the `HEAD` request and leaves the body out. `Allow` then lists it.
    #[must_use]
    pub const fn answering_head(mut self) -> Self {
        self.head = true;
        self
    }

    /// The method.
    #[must_use]
    pub const fn method(&self) -> &Method {
        &self.method
    }

    /// The path template, e.g. `/orders/{id}/cancel`.
    #[must_use]
    pub const fn template(&self) -> &'static str {
        self.template
    }

    fn answers(&self, method: &Method) -> bool {
        self.method == *method || (self.head && *method == Method::HEAD)
    }
}

/// A function's route table, tried row by row in order:
/// `static ROUTES: Router<Op> = Router(&[Route::new(Method::GET, "/orders", Op::List), ...]);`
#[derive(Debug)]
pub struct Router<T: 'static>(pub &'static [Route<T>]);

impl<T: Copy> Router<T> {
    /// The rows, in order.
    #[must_use]
    pub const fn routes(&self) -> &'static [Route<T>] {
        self.0
    }

    /// `METHOD /template` of every row, as the template's `RouteKey`s are written.
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        self.0
            .iter()
            .map(|route| format!("{} {}", route.method, route.template))
    }

    /// The route of `request`: see [`Router::resolve`].
    ///
    /// # Errors
    /// As [`Router::resolve`].
    pub fn route<'r>(&self, request: &'r Request) -> Result<(T, Params<'r>), Problem> {
        self.resolve(request.method(), request.uri().path())
    }

    /// The target of the first row whose template matches `path` and which answers `method`,
    /// with the template's parameters.
    ///
    /// # Errors
    /// A 404 problem when no template matches `path`; a 405 problem with `Allow` listing the
    /// methods of the rows that do, when none of them answers `method`.
    pub fn resolve<'p>(&self, method: &Method, path: &'p str) -> Result<(T, Params<'p>), Problem> {
        let mut known_path = false;
        for route in self.0 {
            let Some(params) = match_template(route.template, path) else {
                continue;
            };
            if route.answers(method) {
                return Ok((route.target, params));
            }
            known_path = true;
        }
        if !known_path {
            return Err(Problem::not_found("no such route"));
        }
        let mut allow: Vec<&Method> = Vec::new();
        for route in self.0 {
            if match_template(route.template, path).is_some() {
                let head = route.head.then_some(&Method::HEAD);
                for method in std::iter::once(&route.method).chain(head) {
                    if !allow.contains(&method) {
                        allow.push(method);
                    }
                }
            }
        }
        Err(Problem::method_not_allowed(&allow))
    }
}

/// The parameters a template captured from a path, by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params<'p> {
    captured: [(&'p str, &'p str); MAX_PARAMS],
    len: usize,
}

impl<'p> Params<'p> {
    /// The segment (or, for `{name+}`, the rest of the path) that `{name}` matched.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&'p str> {
        self.captured[..self.len]
            .iter()
            .find(|(captured, _)| *captured == name)
            .map(|(_, value)| *value)
    }

    /// Every `(name, value)`, in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&'p str, &'p str)> + '_ {
        self.captured[..self.len].iter().copied()
    }

    fn push(&mut self, name: &'p str, value: &'p str) -> Option<()> {
        *self.captured.get_mut(self.len)? = (name, value);
        self.len += 1;
        Some(())
    }
}

/// The parameters of `path` when it matches `template` (see the [module](self) documentation);
/// `None` also when the template has more than [`MAX_PARAMS`] parameters.
#[must_use]
pub fn match_template<'p>(template: &'p str, path: &'p str) -> Option<Params<'p>> {
    let mut rest = path.strip_prefix('/')?.trim_end_matches('/');
    let mut params = Params::default();
    let mut parts = template.strip_prefix('/')?.split('/').peekable();
    while let Some(part) = parts.next() {
        let name = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
        if let Some(greedy) = name.and_then(|name| name.strip_suffix('+')) {
            if rest.is_empty() {
                return None;
            }
            params.push(greedy, rest)?;
            return Some(params);
        }
        let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let last = parts.peek().is_none();
        // The template's last segment must be the path's last one, and no segment but the
        // root's may be empty.
        if (last && rest.contains('/')) || (!last && !rest.contains('/')) {
            return None;
        }
        match name {
            Some(name) if !segment.is_empty() => params.push(name, segment)?,
            Some(_) => return None,
            None if segment == part => {}
            None => return None,
        }
        rest = tail;
    }
    Some(params)
}

/// `Ok` when `template` is `/`, or `/`-separated non-empty segments, each a literal without
/// braces, a `{name}`, or (last only) a `{name+}`, with at most [`MAX_PARAMS`] parameters.
const fn check_template(template: &str) -> Result<(), &'static str> {
    let bytes = template.as_bytes();
    if bytes.is_empty() || bytes[0] != b'/' {
        return Err("a route template starts with '/'");
    }
    if bytes.len() == 1 {
        return Ok(());
    }
    let mut params = 0;
    let mut start = 1;
    while start <= bytes.len() {
        let mut end = start;
        while end < bytes.len() && bytes[end] != b'/' {
            end += 1;
        }
        if end == start {
            return Err("a route template has no empty segment and no trailing '/'");
        }
        if bytes[start] == b'{' {
            let mut close = end - 1;
            if bytes[close] != b'}' {
                return Err("a '{' opens a whole segment that a '}' closes");
            }
            if bytes[close - 1] == b'+' {
                if end != bytes.len() {
                    return Err("only the last segment may be a greedy '{name+}'");
                }
                close -= 1;
            }
            if close == start + 1 {
                return Err("a parameter has a name");
            }
            let mut i = start + 1;
            while i < close {
                if !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    return Err("a parameter name is letters, digits and '_'");
                }
                i += 1;
            }
            params += 1;
            if params > MAX_PARAMS {
                return Err("a route template has at most MAX_PARAMS parameters");
            }
        } else {
            let mut i = start;
            while i < end {
                if bytes[i] == b'{' || bytes[i] == b'}' {
                    return Err("a '{' opens a whole segment that a '}' closes");
                }
                i += 1;
            }
        }
        start = end + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header::{ALLOW, CONTENT_TYPE};

    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Op {
        Page,
        Asset,
        List,
        Create,
        Get,
        Patch,
        Cancel,
    }

    static ROUTES: Router<Op> = Router(&[
        Route::new(Method::GET, "/", Op::Page).answering_head(),
        Route::new(Method::GET, "/assets/{proxy+}", Op::Asset),
        Route::new(Method::GET, "/orders", Op::List),
        Route::new(Method::POST, "/orders", Op::Create),
        Route::new(Method::GET, "/orders/{id}", Op::Get),
        Route::new(Method::PATCH, "/orders/{id}", Op::Patch),
        Route::new(Method::POST, "/orders/{id}/cancel", Op::Cancel),
    ]);

    /// The target and parameters, or the problem's status.
    type Resolved<'p> = Result<(Op, Vec<(&'p str, &'p str)>), u16>;

    fn resolved(method: Method, path: &str) -> Resolved<'_> {
        ROUTES
            .resolve(&method, path)
            .map(|(op, params)| (op, params.iter().collect()))
            .map_err(|problem| problem.status)
    }

    #[test]
    fn a_literal_path_and_its_method_resolve_to_their_target_without_parameters() {
        assert_eq!(resolved(Method::GET, "/orders"), Ok((Op::List, vec![])));
        assert_eq!(resolved(Method::POST, "/orders"), Ok((Op::Create, vec![])));
        assert_eq!(resolved(Method::GET, "/"), Ok((Op::Page, vec![])));
    }

    #[test]
    fn a_parameter_segment_captures_the_raw_segment_by_name() {
        assert_eq!(
            resolved(Method::GET, "/orders/a%20b"),
            Ok((Op::Get, vec![("id", "a%20b")]))
        );
        assert_eq!(
            resolved(Method::POST, "/orders/42/cancel"),
            Ok((Op::Cancel, vec![("id", "42")]))
        );
        let (_, params) = ROUTES.resolve(&Method::PATCH, "/orders/7").unwrap();
        assert_eq!((params.get("id"), params.get("other")), (Some("7"), None));
    }

    #[test]
    fn a_greedy_parameter_takes_the_rest_of_the_path_but_never_nothing() {
        assert_eq!(
            resolved(Method::GET, "/assets/img/icon.svg"),
            Ok((Op::Asset, vec![("proxy", "img/icon.svg")]))
        );
        assert_eq!(resolved(Method::GET, "/assets"), Err(404));
        assert_eq!(resolved(Method::GET, "/assets/"), Err(404));
    }

    #[test]
    fn a_trailing_slash_is_ignored_but_an_empty_or_extra_segment_is_another_path() {
        assert_eq!(resolved(Method::GET, "/orders/"), Ok((Op::List, vec![])));
        assert_eq!(
            resolved(Method::GET, "/orders/42/"),
            Ok((Op::Get, vec![("id", "42")]))
        );
        for path in [
            "/orders//cancel",
            "/orders/42/cancel/more",
            "/orderz",
            "/order",
            "orders",
            "",
            "/orders/42/refund",
        ] {
            assert_eq!(resolved(Method::GET, path), Err(404), "{path:?}");
        }
    }

    #[test]
    fn a_known_path_with_another_method_is_a_405_problem_allowing_that_paths_methods() {
        let problem = ROUTES.resolve(&Method::DELETE, "/orders/42").unwrap_err();
        assert_eq!(problem.status, 405);
        assert_eq!(problem.allow.as_deref(), Some("GET, PATCH"));
        let response = problem.into_response();
        assert_eq!(response.headers()[ALLOW], "GET, PATCH");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        let wrong = ROUTES
            .resolve(&Method::GET, "/orders/42/cancel")
            .unwrap_err();
        assert_eq!(wrong.allow.as_deref(), Some("POST"));
        assert_eq!(wrong.detail.as_deref(), Some("allowed: POST"));
    }

    #[test]
    fn an_unknown_path_is_a_404_problem_without_allow_whatever_the_method() {
        for method in [Method::GET, Method::DELETE, Method::OPTIONS] {
            let problem = ROUTES.resolve(&method, "/nope").unwrap_err();
            assert_eq!((problem.status, problem.allow.as_deref()), (404, None));
        }
    }

    #[test]
    fn head_is_answered_only_by_get_rows_that_say_so_and_then_allowed() {
        assert_eq!(resolved(Method::HEAD, "/"), Ok((Op::Page, vec![])));
        assert_eq!(resolved(Method::HEAD, "/orders"), Err(405));
        let problem = ROUTES.resolve(&Method::POST, "/").unwrap_err();
        assert_eq!(problem.allow.as_deref(), Some("GET, HEAD"));
        let problem = ROUTES.resolve(&Method::PUT, "/orders").unwrap_err();
        assert_eq!(problem.allow.as_deref(), Some("GET, POST"));
    }

    #[test]
    fn the_keys_are_written_as_route_keys() {
        let keys: Vec<String> = ROUTES.keys().collect();
        assert_eq!(keys[1], "GET /assets/{proxy+}");
        assert_eq!(keys[6], "POST /orders/{id}/cancel");
    }

    #[test]
    fn templates_are_checked_as_route_keys() {
        for good in [
            "/",
            "/orders",
            "/orders/{id}",
            "/a/{b}/c/{d_2}",
            "/assets/{proxy+}",
        ] {
            assert_eq!(check_template(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "orders",
            "/orders/",
            "//orders",
            "/orders/{}",
            "/orders/{id",
            "/orders/x{id}",
            "/orders/{i-d}",
            "/{rest+}/more",
            "/{a}/{b}/{c}/{d}/{e}",
        ] {
            assert!(check_template(bad).is_err(), "{bad}");
        }
    }
}
