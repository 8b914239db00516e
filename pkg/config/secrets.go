package config

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// secretField is a credential of the config: a field of type Secret, with
// the key that names a file holding it instead (its key + "File").
type secretField struct {
	key, fileKey string
	value        *Secret
	file         *string
}

var secretType = reflect.TypeOf(Secret(""))

// setting is one leaf of the config: its key as written in the file
// ("ldap.bindPassword"), its field, and the struct that holds it.
type setting struct {
	key    string
	field  reflect.StructField
	parent reflect.Value
}

func (s setting) value() reflect.Value { return s.parent.FieldByIndex(s.field.Index) }

// settings visits every leaf of c that has a key in the file, by
// reflection, descending into the config's own section types, so that the
// rules below cover a new setting without its being listed anywhere.
func settings(c *Config, visit func(setting)) {
	var walk func(prefix string, rv reflect.Value)
	walk = func(prefix string, rv reflect.Value) {
		rt := rv.Type()
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case name == "" || name == "-":
			case f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == secretType.PkgPath():
				walk(prefix+name+".", rv.Field(i))
			default:
				visit(setting{key: prefix + name, field: f, parent: rv})
			}
		}
	}
	walk("", reflect.ValueOf(c).Elem())
}

// secretFields finds every Secret field of c, with the ...File field that
// names a file holding it.
func secretFields(c *Config) []secretField {
	var out []secretField
	settings(c, func(st setting) {
		if st.field.Type != secretType {
			return
		}
		sf := secretField{key: st.key, fileKey: st.key + "File", value: st.value().Addr().Interface().(*Secret)}
		if ff, ok := st.parent.Type().FieldByName(st.field.Name + "File"); ok && ff.Type.Kind() == reflect.String {
			sf.file = st.parent.FieldByIndex(ff.Index).Addr().Interface().(*string)
		}
		out = append(out, sf)
	})
	return out
}

// secretFiles lists the keys naming a file whose content is a credential:
// the ...File key of every secret, and keys tagged secret:"file" (a
// certificate with its private key).
func secretFiles(c *Config) map[string]*string {
	out := map[string]*string{}
	for _, s := range secretFields(c) {
		if s.file != nil {
			out[s.fileKey] = s.file
		}
	}
	settings(c, func(st setting) {
		if st.field.Tag.Get("secret") == "file" && st.field.Type.Kind() == reflect.String {
			out[st.key] = st.value().Addr().Interface().(*string)
		}
	})
	return out
}

// secretsInFile refuses credentials written into the config file itself:
// config files get copied, committed and mailed around. A credential comes
// from the environment or from a file only root can read. The rule is
// checked on the file as the decoder reads it: through anchors, aliases
// and merge keys, with keys matched case-insensitively as viper and
// mapstructure match them, and also, given the viper that read the file,
// by asking it whether its file layer holds the key.
func secretsInFile(file string, doc *yaml.Node, v *viper.Viper) yamlfile.Problems {
	var ps yamlfile.Problems
	for _, s := range secretFields(&Config{}) {
		var at *yaml.Node
		for _, n := range yamlfile.Lookup(doc, s.key) {
			if !emptyNode(n) {
				at = n
				break
			}
		}
		lower := strings.ToLower(s.key)
		if at == nil && (v == nil || !v.InConfig(lower) || fmt.Sprint(v.Get(lower)) == "") {
			continue
		}
		ps = append(ps, yamlfile.At(file, at, s.key,
			"do not write secrets in the config file; set %s or %s", envName(lower), s.fileKey))
	}
	return ps
}

// emptyNode reports whether a value is empty: "", null, [] or {}.
func emptyNode(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value == "" || n.Tag == "!!null"
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) == 0
	}
	return false
}

// fileSecrets returns every value written under a secret's key anywhere in
// the file, in any spelling of the key, so that no message quotes one.
func fileSecrets(doc *yaml.Node) []string {
	names := map[string]bool{}
	for _, s := range secretFields(&Config{}) {
		_, name, _ := strings.Cut(s.key, ".")
		names[strings.ToLower(name)] = true
	}
	var out []string
	yamlfile.Walk(doc, func(k, val *yaml.Node) {
		if !names[strings.ToLower(k.Value)] {
			return
		}
		if val.Kind == yaml.AliasNode && val.Alias != nil {
			val = val.Alias
		}
		yamlfile.Scalars(val, func(n *yaml.Node) { out = append(out, n.Value) })
	})
	return out
}

// urlCredentials refuses a URL with a password in any string setting (the
// LDAP URLs, Graph's URL, the invitation's redirect URL, and whatever URL
// setting comes next): the password is a secret written in the config (or
// in an environment variable meant for something else), and it would be
// echoed wherever the URL is. It returns the passwords found, for
// redaction.
func urlCredentials(c *Config) (yamlfile.Problems, []string) {
	var ps yamlfile.Problems
	var found []string
	settings(c, func(st setting) {
		if st.field.Type == secretType || st.field.Type.Kind() != reflect.String {
			return
		}
		for _, field := range strings.Fields(st.value().String()) {
			if _, pw := splitURLPassword(field); pw != "" {
				found = append(found, pw)
				ps = append(ps, yamlfile.Problem{File: c.File, Path: st.key, Msg: fmt.Sprintf(
					"%s: a password in a URL is refused (it would be echoed with the URL); remove it and use the settings for credentials", RedactURL(field))})
			}
		}
	})
	return ps, found
}

// RedactURL returns s with the password of its user info replaced by
// "xxxxx", as net/url's URL.Redacted does; it also redacts a string that
// does not parse as a URL, since such a string is echoed in the error that
// says so.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	redacted, pw := splitURLPassword(s)
	if pw == "" {
		return s
	}
	return redacted
}

// splitURLPassword finds the password in scheme://user:password@host...
// by the URL's syntax alone, so that it also works on what url.Parse
// refuses. It returns s with the password replaced by "xxxxx", and the
// password ("" when there is none).
func splitURLPassword(s string) (string, string) {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s, ""
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s, ""
	}
	user, pw, ok := strings.Cut(authority[:at], ":")
	if !ok || pw == "" {
		return s, ""
	}
	if u, err := url.PathUnescape(pw); err == nil && u != pw {
		pw = u // the decoded form is the one that would be sent
	}
	start := len(s) - len(rest)
	return s[:start] + user + ":xxxxx" + s[start+at:], pw
}

// minRedacted is the shortest secret redact looks for: a shorter one is
// no secret worth the name, and replacing every "pw" or "s" in the
// messages would make them unreadable.
const minRedacted = 4

// redact replaces every secret value in the problems' messages by
// "[redacted]": the last guard for messages guestsync does not write
// itself (YAML, viper, mapstructure and net/url quote values). Messages
// guestsync writes name a secret's key, never its value.
func redact(ps yamlfile.Problems, secrets []string) yamlfile.Problems {
	var vals []string
	for _, s := range secrets {
		if len(strings.TrimSpace(s)) >= minRedacted {
			vals = append(vals, s)
			if t := strings.TrimSpace(s); t != s {
				vals = append(vals, t)
			}
			if q := url.QueryEscape(s); q != s {
				vals = append(vals, q)
			}
		}
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for i := range ps {
		for _, v := range vals {
			ps[i].Msg = strings.ReplaceAll(ps[i].Msg, v, redacted)
		}
	}
	return ps
}

// resolve makes relative paths relative to the config file's folder (so
// that a config works from any working directory) and reads secret files.
func (c *Config) resolve(dir string, env Environment) yamlfile.Problems {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.LDIF.Path)
	abs(&c.Mapping.File)
	abs(&c.LDAP.CAFile)
	abs(&c.LDAP.BindPasswordFile)
	abs(&c.Graph.ClientSecretFile)
	abs(&c.Graph.CertificateFile)
	abs(&c.Graph.CertificatePasswordFile)
	abs(&c.Graph.CAFile)
	abs(&c.AD.CAFile)
	abs(&c.AD.BindPasswordFile)
	abs(&c.Target.File)
	abs(&c.Target.Export)
	if root, ok := CloudGraphRoot(c.Graph.Cloud); ok && c.Graph.URL == "" {
		c.Graph.URL = root + "/v1.0"
	}
	if c.Graph.Invitation.RedirectURL == "" && c.Graph.TenantID != "" {
		// Where an invited guest lands after redeeming: the inviting
		// tenant's My Apps, as Microsoft's B2B examples use.
		c.Graph.Invitation.RedirectURL = "https://myapplications.microsoft.com/?tenantid=" + url.QueryEscape(c.Graph.TenantID)
	}
	abs(&c.State.File)
	if c.State.File == "" {
		c.State.File = DefaultStateFile(env)
	}
	var ps yamlfile.Problems
	for _, s := range secretFields(c) {
		ps = append(ps, c.readSecret(s, env)...)
	}
	files := secretFiles(c)
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		file := files[key]
		if w := exposed(key, *file); w != "" {
			c.Warnings = append(c.Warnings, yamlfile.Problem{File: c.File, Msg: w})
		}
	}
	return ps
}

// readSecret reads a secret from the file its ...File key names, and
// refuses a secret that is set but empty or only whitespace, naming where
// it came from (never the value): such a secret is a mistake (an empty
// mount, a variable exported from an unset one) that would otherwise show
// as an authentication failure.
func (c *Config) readSecret(s secretField, env Environment) yamlfile.Problems {
	problem := func(path, format string, args ...any) yamlfile.Problems {
		return yamlfile.Problems{{File: c.File, Path: path, Msg: fmt.Sprintf(format, args...)}}
	}
	if s.file == nil || *s.file == "" {
		if *s.value != "" && strings.TrimSpace(string(*s.value)) == "" {
			return problem(s.key, "%s is set but empty or only whitespace", envName(strings.ToLower(s.key)))
		}
		return nil
	}
	if *s.value != "" {
		return problem(s.key, "both the secret and %s are set; use one", s.fileKey)
	}
	b, err := readSecretFile(*s.file)
	if err != nil {
		return problem(s.fileKey, "read secret: %v", err)
	}
	// A trailing newline (echo secret > file) is not part of the secret.
	v := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(v) == "" {
		return problem(s.fileKey, "%s holds no secret: it is empty or only whitespace", *s.file)
	}
	*s.value = Secret(v)
	return nil
}

// maxSecretFile bounds a secret file: a client secret is 40 characters, a
// password some tens; 64 KiB is far beyond any, and keeps a wrong path (a
// log, a disk image) from being read whole.
const maxSecretFile = 64 << 10

func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d KiB: not a secret file", path, maxSecretFile>>10)
	}
	return b, nil
}

// exposed returns a warning when the secret file at path can be read by
// its group or by others, naming the file and its mode. The mode is the
// one of the file the path leads to, through symlinks: a Kubernetes
// Secret volume mounts each key as a symlink through ..data to a file
// whose mode is the volume's defaultMode (0644 unless set), and that file
// is what protects the secret. It is a warning, not an error, because
// such mounts are often readable by design inside a container; on Windows
// the mode bits say nothing about access (ACLs do), so nothing is checked.
func exposed(key, path string) string {
	if path == "" || runtime.GOOS == "windows" {
		return ""
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o044 == 0 {
		return "" // a missing file is reported when it is read
	}
	who := "group"
	switch {
	case st.Mode().Perm()&0o040 == 0:
		who = "others"
	case st.Mode().Perm()&0o004 != 0:
		who = "group and others"
	}
	fix := "chmod 600 " + path
	if target, err := filepath.EvalSymlinks(path); err == nil && target != path {
		fix += " (it is a symlink to " + target + "; in a Kubernetes Secret volume set defaultMode: 0400)"
	}
	return fmt.Sprintf("%s %s is readable by %s (mode %04o): %s", key, path, who, st.Mode().Perm(), fix)
}

// DefaultStateFile is $XDG_STATE_HOME/guestsync/state.json, with
// XDG_STATE_HOME defaulting to ~/.local/state as the XDG spec says.
func DefaultStateFile(env Environment) string {
	dir := env.Getenv("XDG_STATE_HOME")
	if dir == "" {
		dir = filepath.Join(env.HomeDir, ".local", "state")
	}
	return filepath.Join(dir, "guestsync", "state.json")
}
