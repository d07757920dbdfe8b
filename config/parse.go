package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// FieldError is one configuration problem: the dotted path of the field it
// concerns ("services.github.verify.secrets"), what is wrong and how to fix
// it, and for problems found while parsing, the line of the YAML file.
type FieldError struct {
	Line    int    // 1-based line in the YAML file; 0 when not known
	Field   string // dotted path, "" for the whole file
	Problem string // what is wrong; "; " then the fix, when there is one
}

// Error formats e on one line: "[line N: ]field.path: problem; fix".
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Parse reads a YAML configuration. Every ${NAME} in its values (that form
// only: a lone "$" stays as written, and "$${" is a literal "${") is
// replaced with lookup(NAME); a variable that is unset or empty becomes ""
// and is remembered, so that Validate can say which one to set. References
// are marked before the YAML is parsed, so they may stand anywhere a value
// can ("max_attempts: ${N}", "secrets: [${S}]"), and their values are put
// in after, so a secret may hold any character without changing the file's
// structure. Mapping keys are not expanded.
//
// YAML syntax errors, unknown keys, values of the wrong kind and malformed
// actions are errors, each a *FieldError with its line (the file's: a
// reference is marked within its line) and, but for syntax errors, its
// field path; they are joined with errors.Join. The returned Config has its defaults filled in; it has not
// been validated.
func Parse(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	p := &parser{lookup: lookup, seen: map[*yaml.Node]bool{}, substituted: map[*yaml.Node]bool{}}
	text := p.mark(data)
	dec := yaml.NewDecoder(strings.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, p.syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &FieldError{Line: extra.Line, Problem: "a second YAML document; the configuration is one document"}
	case !errors.Is(err, io.EOF):
		return nil, p.syntaxError(err)
	}

	c := &Config{}
	if len(doc.Content) == 0 { // empty file
		c.SetDefaults()
		return c, nil
	}
	root := doc.Content[0]
	p.expand(root, "")
	if len(p.errs) == 0 {
		p.check(root, reflect.TypeFor[Config](), "")
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	if err := root.Decode(c); err != nil {
		// check accepts only what decodes; this is a safety net that must
		// not echo values taken from the environment.
		return nil, p.redact(err)
	}
	c.missing = p.missing
	c.SetDefaults()
	return c, nil
}

// parser carries the state of one Parse.
type parser struct {
	lookup      func(string) (string, bool)
	marker      string   // prefix of the placeholders that stand for ${NAME}s
	names       []string // the NAME of each placeholder, by number
	seen        map[*yaml.Node]bool
	substituted map[*yaml.Node]bool // scalars whose value came (partly) from the environment
	missing     map[string][]string
	errs        []error
}

func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Line: n.Line, Field: path, Problem: fmt.Sprintf(format, args...)})
}

// syntaxError reports a YAML syntax error at the line of the file where
// the parser found it (references are marked within their line, so lines
// are the file's), and where the construct it was parsing began.
func (p *parser) syntaxError(err error) error {
	le, ok := errors.AsType[*yaml.LoadError](err)
	if !ok {
		return errors.New(p.unmark(err.Error()))
	}
	problem := "invalid YAML: " + p.unmark(le.Message)
	if le.ContextMsg != "" && le.ContextMark.Line > 0 && le.ContextMark.Line != le.Mark.Line {
		problem += fmt.Sprintf(" (%s from line %d)", p.unmark(le.ContextMsg), le.ContextMark.Line)
	}
	return &FieldError{Line: le.Mark.Line, Problem: problem}
}

// show quotes n's value for a message, or returns "" when the value came
// from the environment and may be a secret.
func (p *parser) show(n *yaml.Node) string {
	if p.substituted[n] {
		return ""
	}
	return fmt.Sprintf(" %q", n.Value)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mark replaces each ${NAME} in data with a placeholder that is a plain
// YAML word (marker, number, "__"), so that references parse like any
// value wherever they stand. "$${" is left for expand.
func (p *parser) mark(data []byte) string {
	for i := 0; ; i++ {
		p.marker = fmt.Sprintf("__hookd_ref%d_", i)
		if !bytes.Contains(data, []byte(p.marker)) {
			break
		}
	}
	s := string(data)
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("$${")
			i += 3
			continue
		}
		if strings.HasPrefix(s[i:], "${") {
			if end := strings.IndexByte(s[i+2:], '}'); end >= 0 && validVarName(s[i+2:i+2+end]) {
				fmt.Fprintf(&b, "%s%d__", p.marker, len(p.names))
				p.names = append(p.names, s[i+2:i+2+end])
				i += 2 + end + 1
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// placeholder returns the number of the placeholder at the start of s and
// its length, or ok false.
func (p *parser) placeholder(s string) (n, size int, ok bool) {
	rest, found := strings.CutPrefix(s, p.marker)
	if !found {
		return 0, 0, false
	}
	digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	if digits == 0 || !strings.HasPrefix(rest[digits:], "__") {
		return 0, 0, false
	}
	n, err := strconv.Atoi(rest[:digits])
	if err != nil || n >= len(p.names) {
		return 0, 0, false
	}
	return n, len(p.marker) + digits + 2, true
}

// unmark puts the ${NAME} references back in place of their placeholders.
func (p *parser) unmark(s string) string {
	if !strings.Contains(s, p.marker) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if n, size, ok := p.placeholder(s[i:]); ok {
			b.WriteString("${" + p.names[n] + "}")
			i += size
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// expand replaces the references in every scalar value below n; mapping
// keys get their ${NAME} text back.
func (p *parser) expand(n *yaml.Node, path string) {
	if p.seen[n] {
		return
	}
	p.seen[n] = true
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			key.Value = p.unmark(key.Value)
			p.expand(n.Content[i+1], joinPath(path, key.Value))
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p.expand(item, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") && !strings.Contains(n.Value, p.marker) {
			return
		}
		out, refs, err := p.expandString(n.Value, path)
		if err != nil {
			p.errorf(n, path, "%v", err)
			return
		}
		if refs > 0 {
			p.substituted[n] = true
		}
		if out == n.Value {
			return
		}
		n.Value = out
		// A plain scalar's type follows its new text ("max_attempts: ${N}");
		// a quoted one stays a string.
		if n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			tag := plainTag(out)
			if tag == "!!null" && out != "" {
				tag = "!!str" // "~" or "null" from the environment is text
			}
			n.Tag = tag
		}
	}
}

// plainTag returns the tag YAML resolves the plain scalar s to: "!!int"
// for "5", "!!bool" for "true", else mostly "!!str". Text that would not be
// one plain scalar is a string.
func plainTag(s string) string {
	if s == "" {
		return "!!null"
	}
	var n yaml.Node
	if yaml.Unmarshal([]byte(s), &n) != nil || len(n.Content) != 1 {
		return "!!str"
	}
	v := n.Content[0]
	if v.Kind != yaml.ScalarNode || v.Style != 0 || v.Value != s {
		return "!!str"
	}
	return v.ShortTag()
}

// expandString replaces each placeholder in s with its variable's value and
// "$${" with "${"; any other "$" stays. A "${" that is left is not a valid
// reference. It returns the number of references replaced and records the
// variables that were unset or empty under path.
func (p *parser) expandString(s, path string) (string, int, error) {
	var b strings.Builder
	refs := 0
	for i := 0; i < len(s); {
		if n, size, ok := p.placeholder(s[i:]); ok {
			name := p.names[n]
			v, found := p.lookup(name)
			if !found || v == "" {
				if p.missing == nil {
					p.missing = map[string][]string{}
				}
				p.missing[path] = append(p.missing[path], name)
			}
			b.WriteString(v)
			refs++
			i += size
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", 0, errors.New(`unterminated "${"; write ${NAME}, or $${ for a literal "${"`)
			}
			ref := p.unmark(s[i : i+2+end+1])
			return "", 0, fmt.Errorf("invalid variable reference %q; write ${NAME} (letters, digits, _), or $${ for a literal \"${\"", ref)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), refs, nil
}

func validVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	actionType   = reflect.TypeFor[ActionConfig]()
)

// check compares the shape of n with the Go type t it will be decoded into:
// known keys only, each value of the right kind, units that parse. It
// reports with field paths and lines what the decoder would report without.
func (p *parser) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null leaves the zero value: the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case durationType:
		if n.Kind != yaml.ScalarNode {
			p.errorf(n, path, "expected a duration such as 90s, 72h or 7d")
		} else if _, err := parseDuration(n.Value); err != nil {
			p.errorf(n, path, "%v", err)
		}
		return
	case byteSizeType:
		if n.Kind != yaml.ScalarNode {
			p.errorf(n, path, "expected a size such as 512KiB or 5MiB")
		} else if _, err := parseByteSize(n.Value); err != nil {
			p.errorf(n, path, "%v", err)
		}
		return
	case actionType:
		p.checkAction(n, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.errorf(n, path, "expected a map of settings")
			return
		}
		fields, names := yamlFields(t)
		p.checkMapping(n, path, t, func(key, val *yaml.Node, kpath string) {
			ft, ok := fields[key.Value]
			if !ok {
				p.errorf(key, kpath, "unknown field; known fields: %s", strings.Join(names, ", "))
				return
			}
			p.check(val, ft, kpath)
		})
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.errorf(n, path, "expected a map")
			return
		}
		p.checkMapping(n, path, t, func(_, val *yaml.Node, kpath string) { p.check(val, t.Elem(), kpath) })
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.errorf(n, path, "expected a list, e.g. [a, b]")
			return
		}
		for i, item := range n.Content {
			p.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			p.errorf(n, path, "expected a single value, not a list or map")
		}
	case reflect.Int, reflect.Int64:
		var v int64
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			p.errorf(n, path, "expected a whole number%s", p.gotf(n))
		}
	case reflect.Bool:
		var v bool
		if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
			p.errorf(n, path, "expected true or false%s", p.gotf(n))
		}
	}
}

func (p *parser) gotf(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	if s := p.show(n); s != "" {
		return ", got" + s
	}
	return ""
}

// checkMapping calls f for each key of the mapping n (and of the mappings
// merged into it with "<<"), reporting keys that are not names or repeat.
func (p *parser) checkMapping(n *yaml.Node, path string, t reflect.Type, f func(key, val *yaml.Node, kpath string)) {
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if key.Kind == yaml.ScalarNode && key.Tag == "!!merge" {
			merged := []*yaml.Node{val}
			if val.Kind == yaml.SequenceNode {
				merged = val.Content
			}
			for _, m := range merged {
				p.check(m, t, path)
			}
			continue
		}
		if key.Kind != yaml.ScalarNode {
			p.errorf(key, path, "expected a name as key")
			continue
		}
		kpath := joinPath(path, key.Value)
		if line, ok := first[key.Value]; ok {
			p.errorf(key, kpath, "set twice (first on line %d); keep one", line)
			continue
		}
		first[key.Value] = key.Line
		f(key, val, kpath)
	}
}

func (p *parser) checkAction(n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.ScalarNode:
		if _, ok := actionTypes[n.Value]; !ok {
			p.errorf(n, path, "unknown action%s; %s", p.show(n), actionForms)
		}
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		key := n.Content[0]
		shape, ok := actionTypes[key.Value]
		if !ok {
			p.errorf(key, path, "unknown action %q; %s", key.Value, actionForms)
			return
		}
		p.check(n.Content[1], reflect.TypeOf(shape), joinPath(path, key.Value))
	case n.Kind == yaml.MappingNode:
		p.errorf(n, path, "%s; this map has %d keys (indent the settings under the action's name)", actionForms, len(n.Content)/2)
	default:
		p.errorf(n, path, "%s", actionForms)
	}
}

// yamlFields returns the YAML keys of struct type t (inline fields
// included) with their types, and the keys in declaration order.
func yamlFields(t reflect.Type) (map[string]reflect.Type, []string) {
	fields := map[string]reflect.Type{}
	var names []string
	for f := range t.Fields() {
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if opts == "inline" {
			sub, subNames := yamlFields(f.Type)
			for _, n := range subNames {
				fields[n] = sub[n]
			}
			names = append(names, subNames...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	return fields, names
}

// redact removes from a decoder error the values that came from the
// environment, in the forms the decoder quotes them.
func (p *parser) redact(err error) error {
	msg := err.Error()
	for n := range p.substituted {
		v := n.Value
		if v == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, "`"+v+"`", "`(from the environment)`")
		if len(v) > 10 {
			msg = strings.ReplaceAll(msg, "`"+v[:7]+"...`", "`(from the environment)`")
		}
	}
	return errors.New(msg)
}
