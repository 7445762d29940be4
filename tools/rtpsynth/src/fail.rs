//! How the tool fails: one line on stderr and an exit status, 2 for what
//! the user can fix on the command line (bad options, unreadable input),
//! 1 for what went wrong while running.

use std::fmt;

#[derive(Debug)]
pub struct Fail {
    pub status: i32,
    pub msg: String,
}

impl Fail {
    pub fn usage(msg: impl Into<String>) -> Fail {
        Fail {
            status: 2,
            msg: msg.into(),
        }
    }

    pub fn runtime(msg: impl Into<String>) -> Fail {
        Fail {
            status: 1,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
