//! The request hooks of the generated client: every request gets the two auth headers here, from
//! the client's [`RequestContext`], so [`Client::for_practice_group`] copies can share one
//! connection pool while acting for different practice groups.

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::HeaderName;

use crate::Client;
use crate::client::RequestContext;

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_PRACTICE_GROUP_ID: HeaderName = HeaderName::from_static("x-practice-group-id");
/// progenitor 0.15 adds `api-version: <info.version>` to every request. Hero documents no such
/// header, and the version is that of our reconstructed document, so it is not sent.
const API_VERSION: HeaderName = HeaderName::from_static("api-version");

impl ClientHooks<RequestContext> for Client {
    async fn pre<E>(&self, request: &mut reqwest::Request, _info: &OperationInfo) -> Result<(), Error<E>> {
        let context = self.inner();
        let headers = request.headers_mut();
        headers.remove(API_VERSION);
        headers.insert(X_API_KEY, context.api_key.clone());
        headers.insert(X_PRACTICE_GROUP_ID, context.practice_group_id.clone());
        Ok(())
    }
}
