// Package smtptest runs an in-process SMTP server for tests.
//
// Start listens on a loopback port, records every accepted message and can be
// told to refuse transactions with a given reply code, so that tests of an
// SMTP client can check delivery, retries and the transient/permanent split
// without a real mail server:
//
//	srv := smtptest.Start(t)
//	srv.FailNext(1, 421) // the first transaction is refused with "421 4.3.2"
//	// ... send two messages to srv.URL() ...
//	msgs := srv.WaitMessages(t, 1, 5*time.Second)
//
// StartWith adds STARTTLS, implicit TLS (smtps) and AUTH PLAIN, and
// SelfSignedTLS makes a matching pair of TLS configurations.
//
// The server is closed by t.Cleanup. All methods are safe for concurrent use.
package smtptest
