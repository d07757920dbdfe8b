package email_test

import (
	"fmt"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/email"
)

func ExampleRender() {
	a := &hookd.EmailAction{
		Subject: "Order {{.Field \"order.id\"}} for {{.Payload.name}}",
		Body:    "Hello {{.Payload.name}}{{with .Payload.nickname}} ({{.}}){{end}},\nthanks for order {{.Field \"order.id\"}}.\n",
	}
	if err := email.CheckTemplates(a); err != nil {
		fmt.Println(err)
		return
	}
	subject, body, err := email.Render(a, email.Data{
		Email:      "ada@example.com",
		ReceivedAt: time.Now(),
		Payload:    map[string]any{"name": "Ada", "order": map[string]any{"id": 42.0}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(subject)
	fmt.Print(body)
	// Output:
	// Order 42 for Ada
	// Hello Ada,
	// thanks for order 42.
}
