package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// EnvPrefix starts every environment variable guestsync reads.
const EnvPrefix = "GUESTSYNC"

// Environment is what Load needs from the process: the environment
// variables and the folders it searches. Tests pass their own.
type Environment struct {
	// Getenv returns an environment variable ("" if unset).
	Getenv func(string) string
	// Environ lists all environment variables as KEY=VALUE.
	Environ func() []string
	// WorkDir is where ./guestsync.yaml is looked for.
	WorkDir string
	// HomeDir is used when XDG_CONFIG_HOME is unset.
	HomeDir string
}

// ProcessEnvironment returns the real process environment.
func ProcessEnvironment() Environment {
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	return Environment{Getenv: os.Getenv, Environ: os.Environ, WorkDir: wd, HomeDir: home}
}

// SearchPaths lists where a config file is looked for when neither
// --config nor GUESTSYNC_CONFIG names one, in order.
func SearchPaths(env Environment) []string {
	xdg := env.Getenv("XDG_CONFIG_HOME")
	if xdg == "" && env.HomeDir != "" {
		xdg = filepath.Join(env.HomeDir, ".config")
	}
	paths := []string{filepath.Join(env.WorkDir, "guestsync.yaml")}
	if xdg != "" {
		paths = append(paths, filepath.Join(xdg, "guestsync", "guestsync.yaml"))
	}
	return append(paths, "/etc/guestsync/guestsync.yaml")
}

// Find returns the config file to use: explicit (from --config), else
// GUESTSYNC_CONFIG, else the first of SearchPaths that exists.
func Find(explicit string, env Environment) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if p := env.Getenv(EnvPrefix + "_CONFIG"); p != "" {
		return p, nil
	}
	paths := SearchPaths(env)
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no config file: pass --config FILE or set %s_CONFIG, or create one of %s",
		EnvPrefix, strings.Join(paths, ", "))
}

// Load reads the config file at path, applies environment overrides, reads
// secret files, and validates the result. The error, when there is one, is
// a yamlfile.Problems holding every problem found. It does not read the
// mapping the config names: CheckMapping checks what that mapping needs.
func Load(path string, env Environment) (*Config, error) {
	return load(path, env, func(c *Config) yamlfile.Problems {
		c.Warnings = append(c.Warnings, c.sharedOwner()...)
		return c.Validate()
	})
}

// LoadSource is Load for commands that only read the directory (source
// dump): keys are checked as strictly, but only the version and the
// source's settings (source, ldif, ldap, state) must be valid, so that an
// admin can look at what guestsync reads before the mapping and Graph are
// set up.
func LoadSource(path string, env Environment) (*Config, error) {
	return load(path, env, (*Config).ValidateSource)
}

func load(path string, env Environment, validate func(*Config) yamlfile.Problems) (*Config, error) {
	data, err := yamlfile.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, yamlfile.Problems{{File: path, Msg: "config file does not exist"}}
		}
		return nil, yamlfile.AsProblems(path, err)
	}
	return parse(path, data, env, validate)
}

// parse is load of a file already read.
func parse(path string, data []byte, env Environment, validate func(*Config) yamlfile.Problems) (*Config, error) {
	// Strict pass: unknown keys and type errors with their lines.
	var strict Config
	doc, ps := yamlfile.Decode(path, data, &strict)
	if doc == nil {
		return nil, ps.Err()
	}
	// Every value that must not appear in a message, wherever it came
	// from, for the last guard (redact) before the problems are returned.
	secrets := fileSecrets(doc)
	fail := func(ps yamlfile.Problems) error { return redact(ps, secrets).Err() }
	strictFailed := len(ps) > 0
	ps = append(ps, secretsInFile(path, doc, nil)...)

	v := viper.New()
	v.SetConfigType("yaml")
	setDefaults(v, Defaults())
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		if !strictFailed { // else the strict pass said it already, with lines
			ps = append(ps, yamlfile.Problem{File: path, Line: 1, Msg: err.Error()})
		}
		return nil, fail(ps)
	}
	if len(secretsInFile(path, doc, nil)) == 0 {
		ps = append(ps, secretsInFile(path, doc, v)...)
	}
	for _, s := range secretFields(&Config{}) {
		if val := v.Get(strings.ToLower(s.key)); val != nil {
			secrets = append(secrets, fmt.Sprint(val))
		}
	}
	// Environment overrides, for every known key. They come from env
	// rather than viper.AutomaticEnv so that tests can pass their own.
	fromEnv := map[string]bool{}
	for _, key := range v.AllKeys() {
		if val := env.Getenv(envName(key)); val != "" {
			v.Set(key, val)
			fromEnv[key] = true
		}
	}
	for _, s := range secretFields(&Config{}) {
		secrets = append(secrets, env.Getenv(envName(strings.ToLower(s.key))))
	}
	var c Config
	hooks := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		// Lists from the environment: items separated by ";", because
		// the items are DNs, which contain commas.
		mapstructure.StringToSliceHookFunc(";"),
	))
	if err := v.UnmarshalExact(&c, hooks); err != nil {
		ps = append(ps, decodeProblems(path, err, fromEnv, strictFailed)...)
	}
	c.File, c.doc = path, doc
	ps = append(ps, unknownEnv(env)...)
	urlPs, passwords := urlCredentials(&c)
	secrets = append(secrets, passwords...)
	ps = append(ps, urlPs...)
	ps = append(ps, c.resolve(filepath.Dir(path), env)...)
	for _, s := range secretFields(&c) {
		secrets = append(secrets, s.value.Reveal())
	}
	ps = append(ps, validate(&c)...)
	locate(ps, doc)
	c.Warnings = redact(c.Warnings, secrets)
	if err := fail(ps); err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeProblems turns viper's decoding error into problems, one per key.
// A key set in the file was checked by the strict pass already, with its
// line, when that pass found problems, so only keys set from the
// environment are reported then.
func decodeProblems(file string, err error, fromEnv map[string]bool, strictFailed bool) yamlfile.Problems {
	var ps yamlfile.Problems
	var walk func(err error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var de *mapstructure.DecodeError
		if !errors.As(err, &de) {
			if !strictFailed {
				ps = append(ps, yamlfile.Problem{File: file, Line: 1, Msg: err.Error()})
			}
			return
		}
		if inner := de.Unwrap(); inner != nil {
			var nested *mapstructure.DecodeError
			if errors.As(inner, &nested) {
				walk(inner)
				return
			}
		}
		key := de.Name()
		switch {
		case fromEnv[strings.ToLower(key)]:
			ps = append(ps, yamlfile.Problem{File: "environment", Msg: fmt.Sprintf("%s: %v", envName(strings.ToLower(key)), de.Unwrap())})
		case strictFailed:
		case key == "":
			ps = append(ps, yamlfile.Problem{File: file, Line: 1, Msg: de.Unwrap().Error()})
		default:
			ps = append(ps, yamlfile.Problem{File: file, Path: key, Msg: de.Unwrap().Error()})
		}
	}
	walk(err)
	return ps
}

// envName is the environment variable that overrides a viper key.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// setDefaults registers every key with viper, so that AutomaticEnv and
// Unmarshal see environment overrides of keys the file does not mention.
func setDefaults(v *viper.Viper, d Config) {
	var walk func(prefix string, rv reflect.Value)
	walk = func(prefix string, rv reflect.Value) {
		rt := rv.Type()
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
			if tag == "-" || tag == "" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			if f.Type.Kind() == reflect.Struct {
				walk(key, rv.Field(i))
				continue
			}
			v.SetDefault(key, rv.Field(i).Interface())
		}
	}
	walk("", reflect.ValueOf(d))
}

// KnownEnv lists every environment variable that overrides a config key.
func KnownEnv() []string {
	v := viper.New()
	setDefaults(v, Defaults())
	var out []string
	for _, k := range v.AllKeys() {
		out = append(out, envName(k))
	}
	sort.Strings(out)
	return out
}

// unknownEnv reports GUESTSYNC_ variables that name no key: a typo there
// would otherwise be silently ignored. GUESTSYNC_CONFIG and the test
// harness's GUESTSYNC_TEST_ variables are not config keys.
func unknownEnv(env Environment) yamlfile.Problems {
	known := map[string]bool{EnvPrefix + "_CONFIG": true}
	for _, k := range KnownEnv() {
		known[k] = true
	}
	var ps yamlfile.Problems
	for _, kv := range env.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") || known[name] || strings.HasPrefix(name, EnvPrefix+"_TEST_") {
			continue
		}
		msg := fmt.Sprintf("%s does not name a config key", name)
		if best := nearest(name, KnownEnv()); best != "" {
			msg += fmt.Sprintf("; did you mean %s?", best)
		}
		ps = append(ps, yamlfile.Problem{File: "environment", Msg: msg})
	}
	return ps
}

func nearest(s string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		if d := yamlfile.Distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// locate gives a line and column to problems about keys written in the
// file, so that the admin sees where to look.
func locate(ps yamlfile.Problems, doc *yaml.Node) {
	for i, p := range ps {
		if p.Line != 0 || p.Path == "" {
			continue
		}
		n := doc
		for _, key := range strings.Split(p.Path, ".") {
			n = valueOfFold(n, key)
		}
		if n != nil {
			ps[i].Line, ps[i].Col = n.Line, n.Column
		}
	}
}

// valueOfFold is valueOf with the case-insensitive key match viper uses.
func valueOfFold(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if strings.EqualFold(n.Content[i].Value, key) {
			return n.Content[i+1]
		}
	}
	return nil
}
