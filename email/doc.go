// Package email sends the messages of hookd's email action over SMTP.
//
// A Sender delivers one Message per call with github.com/wneessen/go-mail,
// over a bounded pool of connections that each carry many messages
// (Config.MaxConns, IdleTimeout, MaxMessages, MaxConnAge). Its errors follow the retry rules of
// the README's Actions section: SMTP 4xx replies, connection failures and timeouts
// are plain errors, which the job runner retries; SMTP 5xx replies are
// wrapped with hookd.Permanent, so the job fails at once.
//
// Render turns an action's templates and an event into a subject and a body.
// Templates are text/template sources evaluated over Data:
//
//	subject: "Order {{.Payload.order_id}} received"
//	body: |
//	  Hello {{.Field "customer.name"}},
//	  we received your order on {{.ReceivedAt.Format "2 Jan 2006"}}.
//
// A missing top-level payload key renders as empty text. A path through a
// missing object (.Payload.customer.name without a customer) cannot be
// evaluated and fails rendering; Data.Field and {{with}} are the safe ways to
// reach nested, optional values. CheckTemplates finds unknown template names,
// parse errors and misspelt Data fields when the configuration is loaded.
package email
