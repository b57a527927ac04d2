package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// envName is what a POSIX shell accepts as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ResolveSecret reads a secret from the environment variable env or from the file
// file (exactly one of them must be named), so that secrets never appear in the
// config text. A file's content (not a variable's) is trimmed of surrounding white space. Errors name
// the variable or file but never contain the secret.
func ResolveSecret(env, file string) (string, error) {
	switch {
	case env != "" && file != "":
		return "", errors.New("give either an environment variable or a file for a secret, not both")
	case env != "":
		if !envName.MatchString(env) {
			// Not echoed: a value that is not a variable name may be the secret itself.
			return "", errors.New("not a valid environment variable name; name the variable that holds the secret, never the secret itself")
		}
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("cannot read secret file %s: %w", file, pe.Err)
			}
			return "", fmt.Errorf("cannot read secret file %s: %w", file, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", file)
		}
		return v, nil
	}
	return "", errors.New("no secret given: name an environment variable or a file")
}
