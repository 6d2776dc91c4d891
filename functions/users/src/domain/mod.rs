//! Pure domain types of the users service: parsed values and the user aggregate.
//! No AWS, Lambda or async code here.

mod email;
mod name;
mod password;
mod user;

pub use email::{Email, EmailError};
pub use name::{Name, NameError};
pub use password::{Password, PasswordError, PasswordHash};
pub use user::{User, UserId};
