package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/schema"
)

// Entry describes one batch of a spool directory, pending or dead, for a person
// deciding what to do with it.
type Entry struct {
	// ID is the batch's sequence number, how `flowmeter spool` names it.
	ID string
	// Spooled is when the batch was spooled (its file's modification time, which
	// Retry keeps).
	Spooled time.Time
	// Records counts the batch's records and facts by kind; nil when the batch cannot
	// be read.
	Records map[schema.Kind]int
	// Cursors is the number of collector cursors in the batch.
	Cursors int
	// Err says why the store refused a dead letter, or why a batch cannot be read.
	Err string
}

// List describes the pending batches and the dead letters of the spool directory
// dir, each in the order of their numbers. It reads the directory only, so it works
// with or without a daemon running on it.
func List(dir string) (pending, dead []Entry, err error) {
	pending, err = entries(dir, false)
	if err != nil {
		return nil, nil, err
	}
	dead, err = entries(filepath.Join(dir, DeadDir), true)
	if errors.Is(err, fs.ErrNotExist) {
		// A spool directory written before dead letters existed.
		return pending, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return pending, dead, nil
}

func entries(dir string, dead bool) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []Entry
	for _, de := range des {
		n, ok := parseName(de.Name())
		if !ok {
			continue
		}
		info, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // replayed, retried or dropped meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		e := Entry{ID: strconv.FormatUint(n, 10), Spooled: info.ModTime()}
		b, err := readBatch(filepath.Join(dir, de.Name()))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			e.Err = err.Error()
		default:
			e.Records, e.Cursors = b.Counts(), len(b.Cursors)
		}
		if dead {
			reason, err := os.ReadFile(filepath.Join(dir, reasonName(n)))
			switch {
			case err == nil:
				e.Err = strings.TrimSpace(string(reason))
			case errors.Is(err, fs.ErrNotExist):
				e.Err = "no reason recorded (flowmeter stopped while it moved the batch); retry it to see the store's answer"
			default:
				return nil, fmt.Errorf("spool: %w", err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// deadLetters lists the numbers of the dead letters in the dead-letter directory.
func deadLetters(dead string) ([]uint64, error) {
	des, err := os.ReadDir(dead)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var ns []uint64
	for _, de := range des {
		if n, ok := parseName(de.Name()); ok {
			ns = append(ns, n)
		}
	}
	return ns, nil
}

// ErrNoDeadLetter is wrapped when an id names no dead letter.
var ErrNoDeadLetter = errors.New("no such dead letter")

// pick resolves ids (numbers with or without their zero padding, or file names, as
// List and ls show them) to dead letters of dir, all of them when ids is empty. It
// checks every id before anything is moved, so that a typo changes nothing.
func pick(dir string, ids []string) (dead string, ns []uint64, err error) {
	dead = filepath.Join(dir, DeadDir)
	all, err := deadLetters(dead)
	if err != nil {
		return "", nil, err
	}
	if len(ids) == 0 {
		return dead, all, nil
	}
	exists := make(map[uint64]bool, len(all))
	for _, n := range all {
		exists[n] = true
	}
	for _, id := range ids {
		name := filepath.Base(id)
		n, ok := parseName(name)
		if !ok {
			n, err = strconv.ParseUint(strings.TrimSuffix(name, reasonSuffix), 10, 64)
			ok = err == nil
		}
		if !ok {
			return "", nil, fmt.Errorf("spool: %q is not a batch id (a number, as 'flowmeter spool list' shows it)", id)
		}
		if !exists[n] {
			return "", nil, fmt.Errorf("spool: %s in %s: %w", id, dead, ErrNoDeadLetter)
		}
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	return dead, ns, nil
}

// Retry moves dead letters (those ids, or all when there are none) back into the
// queue of the spool directory dir, under their own numbers, and returns the ids it
// moved. A running Spool replays them within RescanInterval, one started later at
// once; the store may refuse them again, which makes them dead letters again. The
// reason is removed first, so that a daemon burying the batch again cannot lose its
// new reason to this call.
func Retry(dir string, ids []string) ([]string, error) {
	dead, ns, err := pick(dir, ids)
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, n := range ns {
		queued := filepath.Join(dir, fileName(n))
		if _, err := os.Lstat(queued); !errors.Is(err, fs.ErrNotExist) {
			return moved, fmt.Errorf("spool: retry %d: %s is in the way", n, queued)
		}
		if err := os.Remove(filepath.Join(dead, reasonName(n))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return moved, fmt.Errorf("spool: retry %d: %w", n, err)
		}
		if err := os.Rename(filepath.Join(dead, fileName(n)), queued); err != nil {
			return moved, fmt.Errorf("spool: retry %d: %w", n, err)
		}
		moved = append(moved, strconv.FormatUint(n, 10))
	}
	if err := errors.Join(syncDir(dir), syncDir(dead)); err != nil {
		return moved, fmt.Errorf("spool: retry: %w", err)
	}
	return moved, nil
}

// Drop deletes dead letters (those ids, or all when there are none) of the spool
// directory dir with their reasons, and returns the ids it deleted. What they held
// is lost.
func Drop(dir string, ids []string) ([]string, error) {
	dead, ns, err := pick(dir, ids)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, n := range ns {
		if err := os.Remove(filepath.Join(dead, fileName(n))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return dropped, fmt.Errorf("spool: drop %d: %w", n, err)
		}
		if err := os.Remove(filepath.Join(dead, reasonName(n))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return dropped, fmt.Errorf("spool: drop %d: %w", n, err)
		}
		dropped = append(dropped, strconv.FormatUint(n, 10))
	}
	if err := syncDir(dead); err != nil {
		return dropped, fmt.Errorf("spool: drop: %w", err)
	}
	return dropped, nil
}
