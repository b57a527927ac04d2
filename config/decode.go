package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds the walk so that a pathological document cannot exhaust the stack.
const maxDepth = 100

var (
	yamlNodeType        = reflect.TypeFor[yaml.Node]()
	durationType        = reflect.TypeFor[Duration]()
	stdDurationType     = reflect.TypeFor[time.Duration]()
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	nodeDecoderType     = reflect.TypeFor[nodeDecoder]()
	plainKey            = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// DecodeStrict decodes a sub-tree of a configuration file into v (a non-nil pointer)
// the way Load decodes the whole file: an unknown key is an error, and every error is
// an *Error naming file, line and the field under path (such as "sources[0].github"),
// so that sources report problems in their settings as precisely as config does.
// A nil or empty node leaves v unchanged, so callers may fill in defaults first.
func DecodeStrict(node *yaml.Node, v any, file, path string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: DecodeStrict needs a non-nil pointer, got %T", v)
	}
	if node == nil || node.Kind == 0 {
		return nil
	}
	d := newDecoder(file)
	return d.decode(node, rv.Elem(), path, 0, 0)
}

// nodeDecoder is implemented by types whose YAML shape a struct cannot describe, such
// as a source, whose one extra key names its type.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string, line int) error
}

// decoder walks a YAML node tree alongside a Go value and remembers the line of every
// field path it visits, for the validation that follows.
type decoder struct {
	file  string
	lines map[string]int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: make(map[string]int)}
}

func (d *decoder) errorf(line int, field, format string, args ...any) *Error {
	return &Error{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// resolve follows documents and aliases to the node that holds the value; nil means
// an empty document.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		case 0:
			return nil
		default:
			return n
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decode sets v from n. line is where the field was named (its key, or its list
// item), the place to point at when the value as a whole is wrong.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, line, depth int) error {
	if depth > maxDepth {
		return d.errorf(line, path, "nested too deeply")
	}
	n = resolve(n)
	if n == nil {
		return nil
	}
	if line == 0 {
		line = n.Line
	}
	t := v.Type()
	if t == yamlNodeType {
		v.Set(reflect.ValueOf(*n))
		return nil
	}
	if reflect.PointerTo(t).Implements(nodeDecoderType) {
		return v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path, line)
	}
	if hasUnmarshaler(t) {
		return d.leaf(n, v, path, line)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.decode(n, v.Elem(), path, line, depth+1)
	case reflect.Struct:
		return d.structure(n, v, path, line, depth)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return d.leaf(n, v, path, line)
		}
		return d.sequence(n, v, path, line, depth)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return d.leaf(n, v, path, line)
		}
		return d.mapping(n, v, path, line, depth)
	default:
		return d.leaf(n, v, path, line)
	}
}

func hasUnmarshaler(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	if p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType) {
		return true
	}
	// The obsolete yaml.v2-style UnmarshalYAML(func(any) error) is honoured by
	// yaml.v3 too; leave such types to it.
	_, ok := p.MethodByName("UnmarshalYAML")
	return ok
}

// fieldInfo locates a struct field by its YAML name.
type fieldInfo struct {
	index []int
}

// structInfo is the YAML view of a struct type: its keys in declaration order, and
// the map that collects unknown keys when the struct has an ",inline" map.
type structInfo struct {
	byName    map[string]fieldInfo
	names     []string
	inlineMap []int
}

// structFields reads yaml tags the way yaml.v3 does: "-" skips, an empty name is the
// lower-cased field name, ",inline" merges a struct's fields or collects extra keys
// in a map.
func structFields(t reflect.Type) structInfo {
	info := structInfo{byName: make(map[string]fieldInfo)}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.PkgPath != "" && !f.Anonymous {
				continue
			}
			tag := f.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			index := append(slices.Clone(prefix), i)
			if slices.Contains(strings.Split(opts, ","), "inline") {
				switch f.Type.Kind() {
				case reflect.Struct:
					walk(f.Type, index)
					continue
				case reflect.Map:
					if info.inlineMap == nil {
						info.inlineMap = index
					}
					continue
				}
			}
			if f.PkgPath != "" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if _, dup := info.byName[name]; dup {
				continue
			}
			info.byName[name] = fieldInfo{index: index}
			info.names = append(info.names, name)
		}
	}
	walk(t, nil)
	return info
}

// pair is one key and its value in a mapping.
type pair struct {
	key, val *yaml.Node
}

// pairs lists a mapping's entries with merge keys ("<<") expanded: merged entries
// first, entries written in the mapping after them and overriding them. A key given
// twice is an error, because YAML libraries disagree on which one wins.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) ([]pair, error) {
	if depth > maxDepth {
		return nil, d.errorf(n.Line, path, "nested too deeply")
	}
	var merged, explicit []pair
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			m, err := d.mergePairs(val, path, k.Line, depth)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, d.errorf(k.Line, path, "a key must be a plain string, got %s", nodeKindName(k))
		}
		if first, ok := seen[k.Value]; ok {
			return nil, d.errorf(k.Line, joinKey(path, k.Value), "duplicate key (first given on line %d)", first)
		}
		seen[k.Value] = k.Line
		explicit = append(explicit, pair{k, val})
	}
	out := make([]pair, 0, len(merged)+len(explicit))
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; ok {
			continue
		}
		seen[p.key.Value] = p.key.Line
		out = append(out, p)
	}
	return append(out, explicit...), nil
}

func (d *decoder) mergePairs(val *yaml.Node, path string, line, depth int) ([]pair, error) {
	v := resolve(val)
	if v == nil {
		return nil, nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, path, depth+1)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range v.Content {
			m := resolve(item)
			if m == nil || m.Kind != yaml.MappingNode {
				return nil, d.errorf(item.Line, path, "merge key (<<) needs a mapping or a list of mappings")
			}
			p, err := d.pairs(m, path, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		}
		return out, nil
	}
	return nil, d.errorf(line, path, "merge key (<<) needs a mapping or a list of mappings")
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, line, depth int) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorf(line, path, "expected a mapping, got %s", nodeKindName(n))
	}
	info := structFields(v.Type())
	pairs, err := d.pairs(n, path, depth)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		key := p.key.Value
		child := joinKey(path, key)
		f, ok := info.byName[key]
		if !ok && info.inlineMap == nil {
			return d.unknown(p.key, child, info.names)
		}
		d.lines[child] = p.key.Line
		if !ok {
			if err := d.mapEntry(p, v.FieldByIndex(info.inlineMap), child, depth); err != nil {
				return err
			}
			continue
		}
		if err := d.decode(p.val, v.FieldByIndex(f.index), child, p.key.Line, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, line, depth int) error {
	if isNull(n) {
		v.SetZero()
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorf(line, path, "expected a mapping, got %s", nodeKindName(n))
	}
	pairs, err := d.pairs(n, path, depth)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		child := joinKey(path, p.key.Value)
		d.lines[child] = p.key.Line
		if err := d.mapEntry(p, v, child, depth); err != nil {
			return err
		}
	}
	return nil
}

// mapEntry decodes one entry into m, a map with string keys, creating the map on
// first use.
func (d *decoder) mapEntry(p pair, m reflect.Value, path string, depth int) error {
	t := m.Type()
	if m.IsNil() {
		m.Set(reflect.MakeMap(t))
	}
	k := reflect.New(t.Key()).Elem()
	k.SetString(p.key.Value)
	e := reflect.New(t.Elem()).Elem()
	if err := d.decode(p.val, e, path, p.key.Line, depth+1); err != nil {
		return err
	}
	m.SetMapIndex(k, e)
	return nil
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string, line, depth int) error {
	if isNull(n) {
		v.SetZero()
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return d.errorf(line, path, "expected a list, got %s", nodeKindName(n))
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		child := fmt.Sprintf("%s[%d]", path, i)
		d.lines[child] = item.Line
		if err := d.decode(item, s.Index(i), child, item.Line, depth+1); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// leaf hands a value to yaml.v3 and rewrites its error into one that names the field.
func (d *decoder) leaf(n *yaml.Node, v reflect.Value, path string, line int) error {
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return nil
	}
	t := v.Type()
	var te *yaml.TypeError
	if errors.As(err, &te) && !hasUnmarshaler(t) && isScalarType(t) {
		if n.Kind == yaml.ScalarNode {
			return d.errorf(line, path, "cannot parse %q as %s", n.Value, typeName(t))
		}
		return d.errorf(line, path, "expected %s, got %s", typeName(t), nodeKindName(n))
	}
	msg := err.Error()
	if te != nil && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	l, msg := splitYAMLLine(msg)
	if l > 0 {
		line = l
	}
	e := d.errorf(line, path, "%s", msg)
	if te == nil {
		e.Err = err
	}
	return e
}

func isScalarType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// typeName says in words what a field holds, for "expected ..." messages.
func typeName(t reflect.Type) string {
	if t == durationType || t == stdDurationType {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a value of type " + t.String()
}

// nodeKindName describes what was written without repeating it, since a value in the
// wrong place may be a secret pasted by mistake.
func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return "a single value"
	}
	return "an alias"
}

// unknown reports a key the target type does not have, with a hint when the key is
// an inline secret or a near miss of a known one.
func (d *decoder) unknown(k *yaml.Node, path string, known []string) error {
	msg := "unknown field"
	var refs []string
	for _, suffix := range []string{"_env", "_file"} {
		if slices.Contains(known, k.Value+suffix) {
			refs = append(refs, fmt.Sprintf("%q", k.Value+suffix))
		}
	}
	if len(refs) > 0 {
		msg += "; secrets are never written in the config: give " + strings.Join(refs, " or ")
	} else if s := Suggest(k.Value, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return d.errorf(k.Line, path, "%s", msg)
}

// Suggest returns the name in known that name most likely misspells or abbreviates,
// or "" when none is close enough to be worth a guess, so that config errors and
// sources' checks of names can offer a "did you mean". Case, "_" and "-" are ignored;
// a name within a few edits of a known one (about one in three letters) matches, and
// otherwise a name that begins exactly one known name, or that one known name begins
// ("repos" for "repositories", "interval_minutes" for "interval").
func Suggest(name string, known []string) string {
	n := foldName(name)
	if n == "" {
		return ""
	}
	best, bestDist := "", max(2, len(n)/3)+1
	for _, k := range known {
		if dist := editDistance(n, foldName(k)); dist < bestDist && dist < len(n) {
			best, bestDist = k, dist
		}
	}
	if best != "" || len(n) < 3 {
		return best
	}
	var prefixed []string
	for _, k := range known {
		if f := foldName(k); len(f) >= 3 && (strings.HasPrefix(f, n) || strings.HasPrefix(n, f)) {
			prefixed = append(prefixed, k)
		}
	}
	if len(prefixed) != 1 {
		return "" // ambiguous: "incident" could be several fields
	}
	return prefixed[0]
}

// foldName is a name as Suggest compares it.
func foldName(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// joinKey appends a mapping key to a field path.
func joinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// parentPath drops the last element of a field path.
func parentPath(p string) string {
	i := max(strings.LastIndexByte(p, '.'), strings.LastIndexByte(p, '['))
	if i < 0 {
		return ""
	}
	return p[:i]
}

// lineOf returns the line of path, or of its nearest ancestor the file mentions, so
// that a missing field is reported where its parent is.
func lineOf(lines map[string]int, path string) int {
	for {
		if l, ok := lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}
