package email

import (
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

var testData = Data{
	EventID:        "01JEVENT",
	Service:        "adapter1",
	IdempotencyKey: "key-1",
	Email:          "ada@example.com",
	ReceivedAt:     time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	Payload: map[string]any{
		"email": "ada@example.com",
		"name":  "Ada",
		"order": map[string]any{"id": float64(1234567890), "items": []any{map[string]any{"sku": "A-1"}}},
		"vip":   true,
	},
}

func TestRenderDefaultWelcome(t *testing.T) {
	t.Parallel()
	for _, a := range []*hookd.EmailAction{nil, {}, {Template: "welcome"}, {Field: "email", Template: "welcome"}} {
		subject, body, err := Render(a, testData)
		if err != nil {
			t.Fatalf("Render(%+v): %v", a, err)
		}
		if subject != "Welcome!" {
			t.Errorf("subject = %q, want Welcome!", subject)
		}
		if !strings.Contains(body, "ada@example.com") || !strings.Contains(strings.ToLower(body), "welcome") {
			t.Errorf("body does not welcome the address:\n%s", body)
		}
	}
}

func TestRenderOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		action                hookd.EmailAction
		wantSubject, wantBody string
		bodyIsWelcome         bool
	}{
		{
			name:        "subject only",
			action:      hookd.EmailAction{Subject: "Hi {{.Payload.name}}"},
			wantSubject: "Hi Ada", bodyIsWelcome: true,
		},
		{
			name:        "body only",
			action:      hookd.EmailAction{Body: "Order {{.Payload.order.id}} for {{.Email}}"},
			wantSubject: "Welcome!", wantBody: "Order 1.23456789e+09 for ada@example.com",
		},
		{
			name:        "both, all fields",
			action:      hookd.EmailAction{Subject: "[{{.Service}}] {{.EventID}}", Body: "{{.IdempotencyKey}} {{.ReceivedAt.Format \"2006-01-02\"}} {{.Payload.vip}}"},
			wantSubject: "[adapter1] 01JEVENT", wantBody: "key-1 2026-03-04 true",
		},
		{
			name:        "Field",
			action:      hookd.EmailAction{Subject: "Order {{.Field \"order.id\"}}", Body: "{{.Field \"order.items.0.sku\"}}|{{.Field \"order.items.7.sku\"}}|{{.Field \"nope.deeper\"}}|{{.Field \"order.items\"}}"},
			wantSubject: "Order 1234567890", wantBody: `A-1|||[{"sku":"A-1"}]`,
		},
		{
			name:        "with and range",
			action:      hookd.EmailAction{Subject: "{{with .Payload.nope}}{{.x}}{{else}}none{{end}}", Body: "{{range .Payload.order.items}}{{.sku}};{{end}}"},
			wantSubject: "none", wantBody: "A-1;",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := CheckTemplates(&tt.action); err != nil {
				t.Fatalf("CheckTemplates: %v", err)
			}
			subject, body, err := Render(&tt.action, testData)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", subject, tt.wantSubject)
			}
			if tt.bodyIsWelcome {
				if !strings.Contains(body, "ada@example.com") {
					t.Errorf("body is not the welcome body: %q", body)
				}
			} else if body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestRenderMissingField(t *testing.T) {
	t.Parallel()
	a := &hookd.EmailAction{Subject: "Hi {{.Payload.first_name}}!", Body: "[{{.Payload.missing}}] [{{.Field \"a.b.c\"}}]"}
	for _, payload := range []map[string]any{nil, {}, {"other": 1}} {
		d := testData
		d.Payload = payload
		subject, body, err := Render(a, d)
		if err != nil {
			t.Fatalf("payload %v: %v", payload, err)
		}
		if subject != "Hi !" || body != "[] []" {
			t.Errorf("payload %v: got %q, %q; want missing fields empty", payload, subject, body)
		}
	}

	// A path through a missing object cannot be evaluated; the error is
	// permanent because the payload will not change.
	a = &hookd.EmailAction{Body: "{{.Payload.customer.name}}"}
	_, _, err := Render(a, testData)
	if err == nil || !hookd.IsPermanent(err) || !strings.HasPrefix(err.Error(), "body: ") {
		t.Errorf("Render = %v, want a permanent body: error", err)
	}
}

func TestRenderSubjectLineBreaks(t *testing.T) {
	t.Parallel()
	d := testData
	d.Payload = map[string]any{"name": "Ada\r\nBcc: eve@example.com\n\tX-Evil: 1\x00\x7f"}
	a := &hookd.EmailAction{Subject: "  Hi\r\n{{.Payload.name}}\r\n", Body: "{{.Payload.name}}"}
	subject, body, err := Render(a, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi Ada Bcc: eve@example.com X-Evil: 1"; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
	if strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q contains a line break", subject)
	}
	if body != d.Payload["name"] {
		t.Errorf("body = %q; the body keeps its line breaks", body)
	}
}

func TestCheckTemplates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		action *hookd.EmailAction
		want   string // prefix of the error; "" for none
	}{
		{"nil", nil, ""},
		{"default", &hookd.EmailAction{}, ""},
		{"welcome", &hookd.EmailAction{Template: "welcome"}, ""},
		{"unknown template", &hookd.EmailAction{Template: "goodbye"}, `template: unknown template "goodbye"`},
		{"subject parse error", &hookd.EmailAction{Subject: "{{.Email"}, "subject: "},
		{"body parse error", &hookd.EmailAction{Body: "{{if .Email}}"}, "body: "},
		{"unknown function", &hookd.EmailAction{Body: "{{upper .Email}}"}, "body: "},
		{"misspelt field", &hookd.EmailAction{Subject: "Hi {{.email}}"}, `subject: subject:1:5: "email" is not a field`},
		{"misspelt field in if", &hookd.EmailAction{Body: "{{if .Payload}}{{.Paylod.x}}{{end}}"}, `body: `},
		{"misspelt field via $", &hookd.EmailAction{Body: "{{with .Payload}}{{$.Mail}}{{end}}"}, `body: `},
		{"dot inside with is not Data", &hookd.EmailAction{Body: "{{with .Payload.customer}}{{.name}}{{end}}"}, ""},
		{"dot inside range is not Data", &hookd.EmailAction{Body: "{{range .Payload.items}}{{.sku}}{{end}}"}, ""},
		{"method", &hookd.EmailAction{Body: "{{.Field \"a.b\"}} {{.ReceivedAt.Unix}}"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTemplates(tt.action)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckTemplates: %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("CheckTemplates = %v, want prefix %q", err, tt.want)
			}
			if tt.want != "" {
				// Render refuses what CheckTemplates refuses, except field
				// typos, which only fail when they are evaluated.
				if _, _, err := Render(tt.action, testData); err != nil && !hookd.IsPermanent(err) {
					t.Errorf("Render error %v is not permanent", err)
				}
			}
		})
	}
}

func TestCheckTemplatesBothErrors(t *testing.T) {
	t.Parallel()
	err := CheckTemplates(&hookd.EmailAction{Subject: "{{", Body: "{{end}}"})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "subject: ") || !strings.HasPrefix(lines[1], "body: ") {
		t.Errorf("CheckTemplates = %q, want one line per field", err)
	}
}

func TestDataField(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"name":            "Ada",
		"vip":             "true",
		"order.id":        "1234567890",
		"order.items.0":   `{"sku":"A-1"}`,
		"order.items.x":   "",
		"order.items.-1":  "",
		"name.first":      "",
		"":                "",
		"order.id.digits": "",
	}
	for path, want := range tests {
		if got := testData.Field(path); got != want {
			t.Errorf("Field(%q) = %q, want %q", path, got, want)
		}
	}
}
