package email

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"

	"github.com/hookd/hookd"
)

// DefaultTemplate is the built-in template used when an action names none.
const DefaultTemplate = "welcome"

// builtin holds the built-in templates by name.
var builtin = map[string]struct{ subject, body string }{
	"welcome": {
		subject: "Welcome!",
		body: `Hello,

welcome aboard! We are glad to have you with us.

This message was sent to {{.Email}} because this address was just signed up.
If that was not you, you can ignore this email.

See you soon!
`,
	},
}

// Data is what subject and body templates see.
type Data struct {
	EventID        string
	Service        string
	IdempotencyKey string
	Email          string // the recipient
	ReceivedAt     time.Time
	// Payload is the event's JSON body when it is an object, else nil.
	// Decode it with json.Decoder.UseNumber so that numbers print as they
	// were sent: a float64 prints 1234567890 as 1.23456789e+09.
	Payload map[string]any
}

// Field returns the value at a dotted path into Payload ("customer.name",
// "items.0.sku") as text: "" when any step is missing, strings as they
// are, numbers without exponent, objects and arrays as JSON. Templates use
// it as {{.Field "customer.name"}} to reach optional nested values.
func (d Data) Field(path string) string {
	var v any = d.Payload
	for key := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// noValue is what text/template prints for a missing map key, even with
// missingkey=zero, because Payload's values are interfaces.
const noValue = "<no value>"

// Render returns the subject and body for one event. a.Template names a
// built-in template (DefaultTemplate when empty); a non-empty a.Subject or
// a.Body overrides that template's subject or body.
//
// A missing payload key renders as empty text rather than failing: an
// event's payload never changes, so an error here would fail the job on
// every attempt, and a message with a blank where an optional value was is
// more useful than none. Errors that remain (an unknown template, a path
// through a missing object) are just as deterministic, so Render marks them
// with hookd.Permanent.
//
// Line breaks and other control characters in the rendered subject are
// replaced by spaces (a subject is one header line; a payload value must not
// be able to add headers), and it is trimmed.
func Render(a *hookd.EmailAction, d Data) (subject, body string, err error) {
	st, bt, err := cachedTemplates(a)
	if err != nil {
		return "", "", hookd.Permanent(err)
	}
	subject, err = execute(st, d)
	if err != nil {
		return "", "", hookd.Permanent(fmt.Errorf("subject: %w", err))
	}
	body, err = execute(bt, d)
	if err != nil {
		return "", "", hookd.Permanent(fmt.Errorf("body: %w", err))
	}
	return cleanSubject(subject), body, nil
}

// CheckTemplates reports whether a's templates can render: the template
// name is known, subject and body parse, and they use only fields of Data.
// Its error names the field: "template: …", "subject: …" or "body: …".
func CheckTemplates(a *hookd.EmailAction) error {
	st, bt, err := parseTemplates(a)
	if err != nil {
		return err
	}
	var errs []error
	if err := checkFields(st); err != nil {
		errs = append(errs, fmt.Errorf("subject: %w", err))
	}
	if err := checkFields(bt); err != nil {
		errs = append(errs, fmt.Errorf("body: %w", err))
	}
	return errors.Join(errs...)
}

// parsed holds the templates Render parsed, by action (templateKey):
// parsing them again for every message cost as much CPU as sending it on
// a local SMTP connection. Executing a template is safe for concurrent use.
var parsed sync.Map // templateKey → parsedTemplates

type templateKey struct{ name, subject, body string }

type parsedTemplates struct {
	subject, body *template.Template
	err           error
}

// cachedTemplates is parseTemplates, once for each action's sources.
func cachedTemplates(a *hookd.EmailAction) (subject, body *template.Template, err error) {
	var k templateKey
	if a != nil {
		k = templateKey{a.Template, a.Subject, a.Body}
	}
	if p, ok := parsed.Load(k); ok {
		p := p.(parsedTemplates)
		return p.subject, p.body, p.err
	}
	subject, body, err = parseTemplates(a)
	parsed.Store(k, parsedTemplates{subject, body, err})
	return subject, body, err
}

// parseTemplates parses the subject and body sources that a selects.
func parseTemplates(a *hookd.EmailAction) (subject, body *template.Template, err error) {
	if a == nil {
		a = &hookd.EmailAction{}
	}
	name := a.Template
	if name == "" {
		name = DefaultTemplate
	}
	b, ok := builtin[name]
	if !ok {
		names := make([]string, 0, len(builtin))
		for n := range builtin {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, nil, fmt.Errorf("template: unknown template %q (built-in: %s)", name, strings.Join(names, ", "))
	}
	ssrc, bsrc := b.subject, b.body
	if a.Subject != "" {
		ssrc = a.Subject
	}
	if a.Body != "" {
		bsrc = a.Body
	}
	var errs []error
	subject, err = newTemplate("subject", ssrc)
	if err != nil {
		errs = append(errs, fmt.Errorf("subject: %w", err))
	}
	body, err = newTemplate("body", bsrc)
	if err != nil {
		errs = append(errs, fmt.Errorf("body: %w", err))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return subject, body, nil
}

func newTemplate(name, src string) (*template.Template, error) {
	return template.New(name).Option("missingkey=zero").Parse(src)
}

func execute(t *template.Template, d Data) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return strings.ReplaceAll(b.String(), noValue, ""), nil
}

// cleanSubject turns every control character (CR and LF above all) into a
// space, collapses the runs this makes and trims the result.
func cleanSubject(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// dataFields are the names a template may use on Data, and dataFieldNames
// the same in declaration order, for error messages.
var dataFields, dataFieldNames = func() (map[string]bool, []string) {
	m := map[string]bool{}
	var names []string
	t := reflect.TypeFor[Data]()
	for i := range t.NumField() {
		m[t.Field(i).Name] = true
		names = append(names, t.Field(i).Name)
	}
	for i := range t.NumMethod() {
		m[t.Method(i).Name] = true
		names = append(names, t.Method(i).Name)
	}
	return m, names
}()

// checkFields walks t and reports the first field used on Data that Data
// does not have, such as {{.email}} for {{.Email}}. Inside {{with}} and
// {{range}} dot is something else and is not checked; $ is always Data.
func checkFields(t *template.Template) error {
	var first error
	var tree *parse.Tree
	report := func(name string, n parse.Node) {
		if first == nil {
			loc, _ := tree.ErrorContext(n)
			first = fmt.Errorf("%s: %q is not a field of email.Data (%s)", loc, name, strings.Join(dataFieldNames, ", "))
		}
	}
	var walkPipe func(p *parse.PipeNode, dotIsData bool)
	var walkList func(l *parse.ListNode, dotIsData bool)
	walkArg := func(n parse.Node, dotIsData bool) {
		switch n := n.(type) {
		case *parse.FieldNode:
			if dotIsData && !dataFields[n.Ident[0]] {
				report(n.Ident[0], n)
			}
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 && !dataFields[n.Ident[1]] {
				report(n.Ident[1], n)
			}
		case *parse.ChainNode:
			// (pipeline).Field: only the pipeline can be checked.
			if p, ok := n.Node.(*parse.PipeNode); ok {
				walkPipe(p, dotIsData)
			}
		case *parse.PipeNode:
			walkPipe(n, dotIsData)
		}
	}
	walkPipe = func(p *parse.PipeNode, dotIsData bool) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				walkArg(a, dotIsData)
			}
		}
	}
	walkList = func(l *parse.ListNode, dotIsData bool) {
		if l == nil {
			return
		}
		for _, n := range l.Nodes {
			switch n := n.(type) {
			case *parse.ActionNode:
				walkPipe(n.Pipe, dotIsData)
			case *parse.IfNode:
				walkPipe(n.Pipe, dotIsData)
				walkList(n.List, dotIsData)
				walkList(n.ElseList, dotIsData)
			case *parse.WithNode:
				walkPipe(n.Pipe, dotIsData)
				walkList(n.List, false)
				walkList(n.ElseList, dotIsData)
			case *parse.RangeNode:
				walkPipe(n.Pipe, dotIsData)
				walkList(n.List, false)
				walkList(n.ElseList, dotIsData)
			case *parse.TemplateNode:
				walkPipe(n.Pipe, dotIsData)
			}
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		tree = tt.Tree
		// Only the main template is known to run with dot = Data; {{define}}d
		// ones get whatever they are passed.
		walkList(tt.Tree.Root, tt.Name() == t.Name())
	}
	return first
}
