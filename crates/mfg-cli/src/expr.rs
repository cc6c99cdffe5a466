//! A small expression language for potentials, terminal costs and initial densities.
//!
//! Grammar (DESIGN.md §5): numbers (`2`, `0.5`, `1e-3`), the variables `x`, `y` and `z`, the
//! constants `pi` and `e`, the binary operators `+ - * / ^` (`^` binds tightest and is right
//! associative; `-x^2` is `-(x^2)`), unary minus, parentheses, and the functions `sin cos tan
//! exp ln sqrt abs tanh` (one argument) and `min max` (two arguments).
//!
//! We parse it ourselves rather than take an expression crate: the grammar is tiny and fixed by
//! our file contract, the errors must name the position and the unknown name, and the compiled
//! tree evaluates without allocation at every grid point.
//!
//! ```
//! use mfg_cli::expr::Expr;
//! let e = Expr::parse("exp(-50*(x-0.5)^2)", &["x"]).unwrap();
//! assert_eq!(e.eval(&[0.5]), 1.0);
//! ```

use thiserror::Error;

/// Why an expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ExprError {
    /// The expression is longer than [`MAX_LEN`] characters.
    #[error("the expression is longer than {max} characters: write it more compactly")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A character that is not part of the language.
    #[error("unexpected character '{ch}' at position {pos}")]
    UnexpectedChar {
        /// The character.
        ch: char,
        /// Its position (0-based, in characters).
        pos: usize,
    },
    /// A name that is neither a variable, a constant nor a function.
    #[error("unknown name '{name}' at position {pos}: use {allowed}, pi, e or one of sin cos tan exp ln sqrt abs tanh min max")]
    UnknownName {
        /// The name.
        name: String,
        /// Its position.
        pos: usize,
        /// The variables allowed here.
        allowed: String,
    },
    /// Something else where a token was expected.
    #[error("expected {expected} at position {pos}")]
    Expected {
        /// What was expected.
        expected: &'static str,
        /// Where.
        pos: usize,
    },
    /// A number literal that does not parse or is not finite.
    #[error("invalid number '{text}' at position {pos}")]
    BadNumber {
        /// The literal.
        text: String,
        /// Where.
        pos: usize,
    },
    /// A function called with the wrong number of arguments.
    #[error("function '{name}' takes {expected} argument(s), got {got}")]
    Arity {
        /// The function.
        name: String,
        /// How many it takes.
        expected: usize,
        /// How many it got.
        got: usize,
    },
    /// The expression is empty.
    #[error("the expression is empty")]
    Empty,
    /// The expression nests deeper than we evaluate.
    #[error("the expression nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Sin,
    Cos,
    Tan,
    Exp,
    Ln,
    Sqrt,
    Abs,
    Tanh,
    Min,
    Max,
    /// The sign (−1, 0, 1): the derivative of `abs`, not a name of the language.
    Sign,
}

impl Func {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sin" => Self::Sin,
            "cos" => Self::Cos,
            "tan" => Self::Tan,
            "exp" => Self::Exp,
            "ln" => Self::Ln,
            "sqrt" => Self::Sqrt,
            "abs" => Self::Abs,
            "tanh" => Self::Tanh,
            "min" => Self::Min,
            "max" => Self::Max,
            _ => return None,
        })
    }

    fn arity(self) -> usize {
        match self {
            Self::Min | Self::Max => 2,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Num(f64),
    Var(usize),
    Neg(Box<Node>),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Mul(Box<Node>, Box<Node>),
    Div(Box<Node>, Box<Node>),
    Pow(Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
    /// `if a <= b { c } else { d }`: the derivatives of `min` and `max`, not in the language.
    IfLe(Box<[Node; 4]>),
}

impl Node {
    fn eval(&self, vars: &[f64]) -> f64 {
        match self {
            Node::Num(v) => *v,
            Node::Var(i) => vars[*i],
            Node::Neg(a) => -a.eval(vars),
            Node::Add(a, b) => a.eval(vars) + b.eval(vars),
            Node::Sub(a, b) => a.eval(vars) - b.eval(vars),
            Node::Mul(a, b) => a.eval(vars) * b.eval(vars),
            Node::Div(a, b) => a.eval(vars) / b.eval(vars),
            Node::Pow(a, b) => {
                let (a, b) = (a.eval(vars), b.eval(vars));
                if b == 2.0 {
                    a * a
                } else {
                    a.powf(b)
                }
            }
            Node::Call(f, args) => {
                let a = args[0].eval(vars);
                match f {
                    Func::Sin => a.sin(),
                    Func::Cos => a.cos(),
                    Func::Tan => a.tan(),
                    Func::Exp => a.exp(),
                    Func::Ln => a.ln(),
                    Func::Sqrt => a.sqrt(),
                    Func::Abs => a.abs(),
                    Func::Tanh => a.tanh(),
                    Func::Min => a.min(args[1].eval(vars)),
                    Func::Max => a.max(args[1].eval(vars)),
                    Func::Sign => {
                        if a > 0.0 {
                            1.0
                        } else if a < 0.0 {
                            -1.0
                        } else {
                            0.0
                        }
                    }
                }
            }
            Node::IfLe(n) => {
                if n[0].eval(vars) <= n[1].eval(vars) {
                    n[2].eval(vars)
                } else {
                    n[3].eval(vars)
                }
            }
        }
    }

    /// Whether the value depends on variable `var`.
    fn depends_on(&self, var: usize) -> bool {
        match self {
            Node::Num(_) => false,
            Node::Var(i) => *i == var,
            Node::Neg(a) => a.depends_on(var),
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Mul(a, b)
            | Node::Div(a, b)
            | Node::Pow(a, b) => a.depends_on(var) || b.depends_on(var),
            Node::Call(_, args) => args.iter().any(|a| a.depends_on(var)),
            Node::IfLe(n) => n.iter().any(|a| a.depends_on(var)),
        }
    }

    /// `∂/∂var`, by the rules of calculus, simplified where a factor is 0 or 1 or both sides
    /// are numbers. `abs`, `min` and `max` differentiate piecewise (`sign`, a branch).
    fn derivative(&self, var: usize) -> Node {
        use sym::*;
        match self {
            Node::Num(_) => num(0.0),
            Node::Var(i) => num(if *i == var { 1.0 } else { 0.0 }),
            Node::Neg(a) => neg(a.derivative(var)),
            Node::Add(a, b) => add(a.derivative(var), b.derivative(var)),
            Node::Sub(a, b) => sub(a.derivative(var), b.derivative(var)),
            Node::Mul(a, b) => add(
                mul(a.derivative(var), (**b).clone()),
                mul((**a).clone(), b.derivative(var)),
            ),
            Node::Div(a, b) => {
                let da = div(a.derivative(var), (**b).clone());
                if !b.depends_on(var) {
                    return da;
                }
                let db = mul((**a).clone(), b.derivative(var));
                sub(da, div(db, mul((**b).clone(), (**b).clone())))
            }
            Node::Pow(a, b) => {
                let (a, b) = ((**a).clone(), (**b).clone());
                if !b.depends_on(var) {
                    // b a^(b − 1) a'
                    let da = a.derivative(var);
                    mul(mul(b.clone(), pow(a, sub(b, num(1.0)))), da)
                } else {
                    // a^b (b' ln a + b a'/a)
                    let (da, db) = (a.derivative(var), b.derivative(var));
                    let inner = add(
                        mul(db, call(Func::Ln, vec![a.clone()])),
                        div(mul(b.clone(), da), a.clone()),
                    );
                    mul(pow(a, b), inner)
                }
            }
            Node::Call(f, args) => {
                let a = args[0].clone();
                let da = a.derivative(var);
                match f {
                    Func::Sin => mul(call(Func::Cos, vec![a]), da),
                    Func::Cos => neg(mul(call(Func::Sin, vec![a]), da)),
                    Func::Tan => div(da, pow(call(Func::Cos, vec![a]), num(2.0))),
                    Func::Exp => mul(call(Func::Exp, vec![a]), da),
                    Func::Ln => div(da, a),
                    Func::Sqrt => div(da, mul(num(2.0), call(Func::Sqrt, vec![a]))),
                    Func::Abs => mul(call(Func::Sign, vec![a]), da),
                    Func::Tanh => mul(sub(num(1.0), pow(call(Func::Tanh, vec![a]), num(2.0))), da),
                    Func::Min | Func::Max => {
                        let b = args[1].clone();
                        let db = b.derivative(var);
                        let (le, gt) = if *f == Func::Min { (da, db) } else { (db, da) };
                        if le == gt {
                            le
                        } else {
                            Node::IfLe(Box::new([a, b, le, gt]))
                        }
                    }
                    Func::Sign => num(0.0),
                }
            }
            Node::IfLe(n) => {
                let (c, d) = (n[2].derivative(var), n[3].derivative(var));
                if c == d {
                    c
                } else {
                    Node::IfLe(Box::new([n[0].clone(), n[1].clone(), c, d]))
                }
            }
        }
    }
}

/// Constructors that fold numbers and the neutral elements (for readable, cheap derivatives).
mod sym {
    use super::{Func, Node};

    pub(super) fn num(v: f64) -> Node {
        Node::Num(v)
    }

    fn value(n: &Node) -> Option<f64> {
        match n {
            Node::Num(v) => Some(*v),
            _ => None,
        }
    }

    pub(super) fn neg(a: Node) -> Node {
        match a {
            Node::Num(v) => Node::Num(-v),
            Node::Neg(x) => *x,
            a => Node::Neg(Box::new(a)),
        }
    }

    pub(super) fn add(a: Node, b: Node) -> Node {
        match (value(&a), value(&b)) {
            (Some(x), Some(y)) => Node::Num(x + y),
            (Some(0.0), _) => b,
            (_, Some(0.0)) => a,
            _ => Node::Add(Box::new(a), Box::new(b)),
        }
    }

    pub(super) fn sub(a: Node, b: Node) -> Node {
        match (value(&a), value(&b)) {
            (Some(x), Some(y)) => Node::Num(x - y),
            (Some(0.0), _) => neg(b),
            (_, Some(0.0)) => a,
            _ => Node::Sub(Box::new(a), Box::new(b)),
        }
    }

    pub(super) fn mul(a: Node, b: Node) -> Node {
        match (value(&a), value(&b)) {
            (Some(x), Some(y)) => Node::Num(x * y),
            (Some(0.0), _) => Node::Num(0.0),
            (_, Some(0.0)) => Node::Num(0.0),
            (Some(1.0), _) => b,
            (_, Some(1.0)) => a,
            _ => Node::Mul(Box::new(a), Box::new(b)),
        }
    }

    pub(super) fn div(a: Node, b: Node) -> Node {
        match (value(&a), value(&b)) {
            (Some(0.0), _) => Node::Num(0.0),
            (_, Some(1.0)) => a,
            _ => Node::Div(Box::new(a), Box::new(b)),
        }
    }

    pub(super) fn pow(a: Node, b: Node) -> Node {
        match value(&b) {
            Some(1.0) => a,
            Some(0.0) => Node::Num(1.0),
            _ => Node::Pow(Box::new(a), Box::new(b)),
        }
    }

    pub(super) fn call(f: Func, args: Vec<Node>) -> Node {
        Node::Call(f, args)
    }
}

/// A parsed expression in the variables it was parsed with.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    root: Node,
    source: String,
    vars: Vec<String>,
}

/// Maximal nesting depth of parentheses, unary operators and powers.
pub const MAX_DEPTH: usize = 64;

/// Maximal length of an expression in characters. A sum of n terms is a tree of depth n whose
/// evaluation and drop recurse n times: 200 000 terms overflowed the stack.
pub const MAX_LEN: usize = 10_000;

impl Expr {
    /// Parse `source`; `vars` are the allowed variable names, in the order `eval` takes them.
    pub fn parse(source: &str, vars: &[&str]) -> Result<Self, ExprError> {
        let chars: Vec<char> = source.chars().take(MAX_LEN + 1).collect();
        if chars.len() > MAX_LEN {
            return Err(ExprError::TooLong { max: MAX_LEN });
        }
        let mut p = Parser {
            s: &chars,
            pos: 0,
            vars,
            depth: 0,
        };
        p.skip_ws();
        if p.pos == chars.len() {
            return Err(ExprError::Empty);
        }
        let root = p.expr()?;
        p.skip_ws();
        if p.pos != chars.len() {
            return Err(match chars[p.pos] {
                ')' => ExprError::Expected {
                    expected: "an operator or the end (unbalanced ')')",
                    pos: p.pos,
                },
                c if is_token_start(c) => ExprError::Expected {
                    expected: "an operator between two values",
                    pos: p.pos,
                },
                ch => ExprError::UnexpectedChar { ch, pos: p.pos },
            });
        }
        Ok(Self {
            root,
            source: source.to_owned(),
            vars: vars.iter().map(|v| v.to_string()).collect(),
        })
    }

    /// Evaluate at the point `vars` (as many values as variable names given to `parse`).
    #[inline]
    pub fn eval(&self, vars: &[f64]) -> f64 {
        assert_eq!(
            vars.len(),
            self.vars.len(),
            "Expr::eval: wrong number of variables"
        );
        self.root.eval(vars)
    }

    /// Whether the expression depends on the variable `var` (false for a name it was not
    /// parsed with).
    pub fn depends_on(&self, var: &str) -> bool {
        self.vars
            .iter()
            .position(|v| v == var)
            .is_some_and(|i| self.root.depends_on(i))
    }

    /// The partial derivative with respect to the variable `var`, symbolically (`None` for a
    /// name it was not parsed with); it takes the same variables. `abs`, `min` and `max` are
    /// differentiated piecewise (their kinks take one side).
    ///
    /// ```
    /// use mfg_cli::expr::Expr;
    /// let f = Expr::parse("x*m^2 + ln(m)", &["x", "m"]).unwrap();
    /// let df = f.derivative("m").unwrap();
    /// assert!((df.eval(&[3.0, 2.0]) - (2.0 * 3.0 * 2.0 + 0.5)).abs() < 1e-15);
    /// ```
    pub fn derivative(&self, var: &str) -> Option<Expr> {
        let i = self.vars.iter().position(|v| v == var)?;
        Some(Expr {
            root: self.root.derivative(i),
            source: format!("d/d{var}[{}]", self.source),
            vars: self.vars.clone(),
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }
}

fn is_token_start(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '('
}

struct Parser<'a> {
    s: &'a [char],
    pos: usize,
    vars: &'a [&'a str],
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn descend(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(ExprError::TooDeep { max: MAX_DEPTH })
        } else {
            Ok(())
        }
    }

    fn expr(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.term()?;
        while let Some(c @ ('+' | '-')) = self.peek() {
            self.pos += 1;
            let rhs = self.term()?;
            lhs = if c == '+' {
                Node::Add(Box::new(lhs), Box::new(rhs))
            } else {
                Node::Sub(Box::new(lhs), Box::new(rhs))
            };
        }
        Ok(lhs)
    }

    fn term(&mut self) -> Result<Node, ExprError> {
        let mut lhs = self.unary()?;
        while let Some(c @ ('*' | '/')) = self.peek() {
            self.pos += 1;
            let rhs = self.unary()?;
            lhs = if c == '*' {
                Node::Mul(Box::new(lhs), Box::new(rhs))
            } else {
                Node::Div(Box::new(lhs), Box::new(rhs))
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        self.descend()?;
        let node = match self.peek() {
            Some('-') => {
                self.pos += 1;
                Node::Neg(Box::new(self.unary()?))
            }
            Some('+') => {
                self.pos += 1;
                self.unary()?
            }
            _ => self.power()?,
        };
        self.depth -= 1;
        Ok(node)
    }

    fn power(&mut self) -> Result<Node, ExprError> {
        let base = self.atom()?;
        if self.peek() == Some('^') {
            self.pos += 1;
            let exponent = self.unary()?;
            return Ok(Node::Pow(Box::new(base), Box::new(exponent)));
        }
        Ok(base)
    }

    fn atom(&mut self) -> Result<Node, ExprError> {
        let start = self.pos;
        match self.peek() {
            None => Err(ExprError::Expected {
                expected: "a number, a name or '('",
                pos: self.pos,
            }),
            Some('(') => {
                self.pos += 1;
                self.descend()?;
                let inner = self.expr()?;
                self.depth -= 1;
                self.expect(')', "')'")?;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let begin = self.pos;
                while self.pos < self.s.len()
                    && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == '_')
                {
                    self.pos += 1;
                }
                let name: String = self.s[begin..self.pos].iter().collect();
                if let Some(i) = self.vars.iter().position(|v| *v == name) {
                    return Ok(Node::Var(i));
                }
                match name.as_str() {
                    "pi" => return Ok(Node::Num(std::f64::consts::PI)),
                    "e" => return Ok(Node::Num(std::f64::consts::E)),
                    _ => {}
                }
                let Some(func) = Func::from_name(&name) else {
                    return Err(ExprError::UnknownName {
                        name,
                        pos: begin,
                        allowed: self.vars.join(", "),
                    });
                };
                self.expect('(', "'(' after a function name")?;
                self.descend()?;
                let mut args = vec![self.expr()?];
                while self.peek() == Some(',') {
                    self.pos += 1;
                    args.push(self.expr()?);
                }
                self.depth -= 1;
                self.expect(')', "')' closing the argument list")?;
                if args.len() != func.arity() {
                    return Err(ExprError::Arity {
                        name,
                        expected: func.arity(),
                        got: args.len(),
                    });
                }
                Ok(Node::Call(func, args))
            }
            Some(ch) => Err(ExprError::UnexpectedChar { ch, pos: start }),
        }
    }

    fn number(&mut self) -> Result<Node, ExprError> {
        let begin = self.pos;
        let s = self.s;
        let digits = |p: &mut usize| {
            while *p < s.len() && s[*p].is_ascii_digit() {
                *p += 1;
            }
        };
        digits(&mut self.pos);
        if self.pos < s.len() && s[self.pos] == '.' {
            self.pos += 1;
            digits(&mut self.pos);
        }
        if self.pos < s.len() && (s[self.pos] == 'e' || s[self.pos] == 'E') {
            // An exponent only if digits follow (so `2e` stays an error, not `2 * e`).
            let mut p = self.pos + 1;
            if p < s.len() && (s[p] == '+' || s[p] == '-') {
                p += 1;
            }
            if p < s.len() && s[p].is_ascii_digit() {
                digits(&mut p);
                self.pos = p;
            }
        }
        let text: String = s[begin..self.pos].iter().collect();
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Node::Num(v)),
            _ => Err(ExprError::BadNumber { text, pos: begin }),
        }
    }

    fn expect(&mut self, c: char, what: &'static str) -> Result<(), ExprError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ExprError::Expected {
                expected: what,
                pos: self.pos,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str, x: f64) -> f64 {
        Expr::parse(s, &["x"]).unwrap().eval(&[x])
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(ev("1 + 2 * 3", 0.0), 7.0);
        assert_eq!(ev("2 ^ 3 ^ 2", 0.0), 512.0);
        assert_eq!(ev("-x^2", 3.0), -9.0);
        assert_eq!(ev("2^-1", 0.0), 0.5);
        assert_eq!(ev("(1 - x) / 4", -3.0), 1.0);
        assert_eq!(ev("8 / 4 / 2", 0.0), 1.0);
        assert_eq!(ev("1 - 2 - 3", 0.0), -4.0);
    }

    #[test]
    fn functions_constants_and_literals() {
        assert!((ev("sin(pi/2) + ln(e)", 0.0) - 2.0).abs() < 1e-15);
        assert_eq!(ev("max(x, 1) + min(x, 1)", 3.0), 4.0);
        assert_eq!(ev("1e-3 * 2.5E2", 0.0), 0.25);
        assert_eq!(
            ev(
                "abs(-x) + sqrt(4) + tanh(0) + exp(0) + cos(0) + tan(0)",
                2.0
            ),
            6.0
        );
        assert_eq!(ev(".5", 0.0), 0.5);
    }

    /// Symbolic derivatives against central differences, over every rule.
    #[test]
    fn derivatives_match_finite_differences() {
        let cases = [
            "x*m^2 + ln(m)",
            "3*m - 2/m + m/x",
            "sin(m*x) + cos(2*m) - tan(m/4)",
            "exp(-m^2) * sqrt(m + x)",
            "abs(m - 0.3) + tanh(3*m)",
            "min(m, 0.5) + max(m^2, x)",
            "m^x + x^m + (m + 1)^(m + 1)",
            "-(m + x)^3 / (1 + m^2)",
            "x^2 + sin(x)",
        ];
        let h = 1e-6;
        for source in cases {
            let f = Expr::parse(source, &["x", "m"]).unwrap();
            let df = f.derivative("m").unwrap();
            for &(x, m) in &[(0.7, 0.9), (1.3, 0.2), (0.4, 1.7)] {
                let fd = (f.eval(&[x, m + h]) - f.eval(&[x, m - h])) / (2.0 * h);
                let exact = df.eval(&[x, m]);
                assert!(
                    (fd - exact).abs() < 1e-6 * (1.0 + exact.abs()),
                    "{source} at ({x}, {m}): {exact} vs {fd}"
                );
            }
        }
        let f = Expr::parse("x^2 + sin(x)", &["x", "m"]).unwrap();
        assert!(!f.depends_on("m") && f.depends_on("x"));
        assert_eq!(f.derivative("m").unwrap().eval(&[0.3, 0.1]), 0.0);
        assert!(f.derivative("t").is_none());
    }

    #[test]
    fn two_variables() {
        let e = Expr::parse("x * 10 + y", &["x", "y"]).unwrap();
        assert_eq!(e.eval(&[2.0, 3.0]), 23.0);
    }

    #[test]
    fn rejections_are_typed_and_positioned() {
        let bad = |s: &str| Expr::parse(s, &["x"]).unwrap_err();
        assert!(
            matches!(bad("foo(x)"), ExprError::UnknownName { ref name, pos: 0, .. } if name == "foo")
        );
        assert!(matches!(bad("y + 1"), ExprError::UnknownName { ref name, .. } if name == "y"));
        assert!(matches!(bad("1 +"), ExprError::Expected { pos: 3, .. }));
        assert!(matches!(bad("(1"), ExprError::Expected { .. }));
        assert!(matches!(bad("1)"), ExprError::Expected { pos: 1, .. }));
        assert!(matches!(bad("2 x"), ExprError::Expected { .. }));
        assert!(matches!(
            bad("1 $ 2"),
            ExprError::UnexpectedChar { ch: '$', .. }
        ));
        assert!(matches!(bad("min(1)"), ExprError::Arity { .. }));
        assert!(matches!(bad("   "), ExprError::Empty));
        assert!(matches!(bad("1e999"), ExprError::BadNumber { .. }));
        assert!(matches!(bad(&"(".repeat(100)), ExprError::TooDeep { .. }));
        assert!(matches!(bad(&"-".repeat(100)), ExprError::TooDeep { .. }));
    }
}
