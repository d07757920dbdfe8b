// Package forward runs hookd's forward action: it POSTs an event's original
// body, with selected headers, to an internal URL.
//
// A 2xx answer succeeds. 408, 429, 5xx answers and network errors (timeouts
// included) return plain errors, which the job runner retries; any other
// answer, redirects included, returns an error wrapped with hookd.Permanent,
// so the job fails at once. Errors for answers are
// *StatusError, with the status and the start of the response body.
package forward
