//! Small pieces shared by the HTTP layer: input validation and the JSON error shape.

pub mod http_error;
pub mod validation;
