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
                }
            }
        }
    }
}

/// A parsed expression in the variables it was parsed with.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    root: Node,
    source: String,
    nvars: usize,
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
            nvars: vars.len(),
        })
    }

    /// Evaluate at the point `vars` (as many values as variable names given to `parse`).
    #[inline]
    pub fn eval(&self, vars: &[f64]) -> f64 {
        assert_eq!(
            vars.len(),
            self.nvars,
            "Expr::eval: wrong number of variables"
        );
        self.root.eval(vars)
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
