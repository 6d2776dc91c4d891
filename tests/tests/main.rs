//! Tests against the local AWS emulator (`AWS_ENDPOINT_URL`, see `make test`). One binary, one
//! module per area, each test with its own uniquely named resources.

mod batch_processor;
mod emulator;
mod unit_of_work;
