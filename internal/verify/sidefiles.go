package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/ledger"
)

// What custody writes beside the evidence objects is one kind of side
// file: the copy of the checkpoint each export and refetch run signs at
// its end (internal/export), checkpoints/<size>.note. Everything else
// beside them, and under sha256/ everything that is not an object, is
// not custody's: a temporary file of an unfinished write (a crash), or
// something another program put there. With --evidence, verify names all
// of it, and checks every checkpoint copy as a checkpoint kept apart: it
// must be signed by the verifier key, be of the size its name says, and
// the ledger must hold that root at that size.

// checkpointCopyDir is where the checkpoint copies are.
const checkpointCopyDir = "checkpoints"

// checkpointCopyName is the side file custody writes for a checkpoint of
// size n.
func checkpointCopyName(n uint64) string {
	return checkpointCopyDir + "/" + strconv.FormatUint(n, 10) + ".note"
}

// checkpointCopySize is the size a side file's name says its checkpoint
// is of, when it is a name checkpointCopyName gives.
func checkpointCopySize(name string) (uint64, bool) {
	s, ok := strings.CutPrefix(name, checkpointCopyDir+"/")
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, ".note"); !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || checkpointCopyName(n) != name {
		return 0, false
	}
	return n, true
}

// checkpointCopy is one checkpoint copy beside the evidence.
type checkpointCopy struct {
	name string // store-relative
	size uint64 // as its name says
	note []byte
	err  error // why it could not be read (evidence.ErrCorrupt, ErrTooLarge)
}

// sideFiles is what a store holds beside its objects, read before the
// ledger pass so that the checkpoint copies' roots are checked in it.
type sideFiles struct {
	url     string
	link    string // where the store's folder leads, when it is a symbolic link (rootLink)
	copies  []checkpointCopy
	names   map[uint64]bool // sizes a checkpoint copy is named for
	temp    []string        // temporary files of unfinished writes (sorted)
	foreign []string        // not custody's (sorted)
}

// readSideFiles lists the store's side files (evidence.Store.Files) and
// reads its checkpoint copies.
func readSideFiles(ctx context.Context, store evidence.Store) (*sideFiles, error) {
	sf := &sideFiles{url: store.URL(), link: rootLink(store.URL()), names: map[uint64]bool{}}
	var copies []string
	err := store.Files(ctx, func(name string) error {
		switch _, ok := checkpointCopySize(name); {
		case ok:
			copies = append(copies, name)
		case isTemp(name):
			sf.temp = append(sf.temp, name)
		default:
			sf.foreign = append(sf.foreign, name)
		}
		return nil
	})
	if err != nil {
		return nil, err // the store names the operation ("evidence: list files …: …")
	}
	slices.Sort(copies)
	slices.Sort(sf.temp)
	slices.Sort(sf.foreign)
	for _, name := range copies {
		n, _ := checkpointCopySize(name)
		sf.names[n] = true
		note, err := store.GetFile(ctx, name)
		if err != nil && !errors.Is(err, evidence.ErrCorrupt) && !errors.Is(err, evidence.ErrTooLarge) {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w (listed, then gone: is something deleting the store's files?)", err)
			}
			return nil, err // the store names the operation ("evidence: get file …: …")
		}
		sf.copies = append(sf.copies, checkpointCopy{name: name, size: n, note: note, err: err})
	}
	return sf, nil
}

// rootLink returns where a folder store's root, url, leads when it is a
// symbolic link; "" when it is none, and for a store that is not a folder
// (its URL is no absolute path). The folder store follows that one link
// (it is the path the user gave) and none below it.
func rootLink(url string) string {
	if !filepath.IsAbs(url) {
		return ""
	}
	if fi, err := os.Lstat(url); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return ""
	}
	if to, err := filepath.EvalSymlinks(url); err == nil {
		return to
	}
	to, _ := os.Readlink(url)
	return to
}

// isTemp: a temporary file of a write a backend did not finish.
var isTemp = evidence.IsTemp

// display is how findings name the side file name of the store.
func (sf *sideFiles) display(name string) string { return sf.url + "/" + name }

// copyClaims checks each checkpoint copy's signature and name, and
// returns the roots the valid ones claim (checked in the ledger pass as
// an outside checkpoint's are). A copy that cannot be read, is not
// signed by the verifier key, or is named for another size is an
// evidence failure: custody writes each whole under a temporary name, so
// no interrupted run leaves one so. A valid copy of a checkpoint the
// ledger does not store is a warning (its root is still checked).
func (v *collector) copyClaims(sf *sideFiles, stored []ledger.StoredCheckpoint, key, origin string) []claim {
	storedSizes := map[uint64]bool{}
	for _, c := range stored {
		storedSizes[c.Size] = true
	}
	var claims []claim
	for _, c := range sf.copies {
		name := sf.display(c.name)
		pos := 2*int64(min(c.size, 1<<61)) - 1
		fail := func(format string, a ...any) {
			v.add(Finding{Check: CheckEvidence, Checkpoint: name, pos: pos, Message: fmt.Sprintf(format, a...)})
		}
		if c.err != nil {
			fail("the copy of a checkpoint beside the evidence cannot be read: %v", c.err)
			continue
		}
		cp, err := hashchain.VerifyCheckpoint(c.note, key)
		if err != nil {
			if body, perr := ledger.NoteCheckpoint(c.note); perr == nil && body.Origin != origin {
				fail("this copy of a checkpoint beside the evidence is a checkpoint of %q, but this ledger's origin is %q: another ledger's, or the ledger was rebuilt under another identity (%v)", body.Origin, origin, err)
			} else {
				fail("this copy of a checkpoint beside the evidence is not a checkpoint signed by the verifier key (custody writes it whole, so no interrupted run leaves it so): damaged, or written by something other than custody: %v", err)
			}
			continue
		}
		if cp.Size != c.size {
			fail("this copy of a checkpoint beside the evidence is named for size %d, but it is a checkpoint of size %d: renamed, or written by something other than custody", c.size, cp.Size)
		}
		if !storedSizes[cp.Size] {
			v.add(Finding{Check: CheckEvidence, Checkpoint: name, Warning: true,
				Message: fmt.Sprintf("a checkpoint of size %d signed by the verifier key, which the ledger does not store: its checkpoint row was deleted, or the ledger is a copy made before it was signed; its root is checked as a checkpoint kept apart's is", cp.Size)})
		}
		claims = append(claims, claim{name: name, size: cp.Size, root: cp.Root, hasErasure: cp.HasErasure, erasure: cp.Erasure})
	}
	return claims
}

// storeWarnings names what the store holds that is not custody's: the
// strays Survey found under sha256/ (misplaced objects apart) and the
// side files that are not checkpoint copies. None of it is evidence or
// read, and none fails verification: an auditor should know of it.
func storeWarnings(sf *sideFiles, strays []string) []Finding {
	var temp, misplaced, foreign []string
	for _, n := range strays {
		switch {
		case isTemp(n):
			temp = append(temp, n)
		case misplacedObject(n) != "":
			misplaced = append(misplaced, n)
		default:
			foreign = append(foreign, n)
		}
	}
	temp = mergeSorted(temp, sf.temp)
	foreign = mergeSorted(foreign, sf.foreign)
	var out []Finding
	warn := func(msg string) {
		out = append(out, Finding{Check: CheckEvidence, Warning: true, pos: posStore, Message: msg})
	}
	if sf.link != "" {
		// An auditor's write-protection of a copy (chmod -R a-w) does not
		// follow the link: the evidence read is elsewhere, and writable.
		warn(fmt.Sprintf("the evidence folder %s is a symbolic link to %s: the objects were read there, outside the folder that holds the link, which write-protecting a copy (chmod -R a-w) does not reach; protect %s too, or copy it in place of the link",
			sf.url, sf.link, sf.link))
	}
	if len(misplaced) > 0 {
		var eg []string
		for _, n := range misplaced[:min(len(misplaced), maxNames)] {
			eg = append(eg, n+" (its place: "+misplacedObject(n)+")")
		}
		warn(fmt.Sprintf("misplaced objects in %s (%d), named as evidence objects but not where custody puts them: %s; moved or written there by something other than custody: not evidence, not read",
			sf.url, len(misplaced), nameList(eg, len(misplaced))))
	}
	if len(foreign) > 0 {
		warn(fmt.Sprintf("files in %s that are not custody's (%d; custody writes only evidence objects under %s/ and checkpoint copies under %s/): %s; not evidence, not read",
			sf.url, len(foreign), evidence.Dir, checkpointCopyDir, nameList(foreign, len(foreign))))
	}
	if len(temp) > 0 {
		warn(fmt.Sprintf("temporary files of unfinished writes in %s (%d): %s; left by a run that stopped mid-write (or one writing now), they name no evidence: not read",
			sf.url, len(temp), nameList(temp, len(temp))))
	}
	return out
}

// maxNames is how many names a warning lists; the JSON report's evidence
// summary lists them all.
const maxNames = 10

// nameList lists names (at most maxNames of them) out of n.
func nameList(names []string, n int) string {
	s := strings.Join(names[:min(len(names), maxNames)], ", ")
	if n > maxNames {
		s += fmt.Sprintf(" and %d more", n-maxNames)
	}
	return s
}

// misplacedObject returns where an object named as name is stored when
// name is an object's (64 lower- or upper-case hex digits in a shard
// folder of sha256/) but not its address; "" otherwise.
func misplacedObject(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] != evidence.Dir || len(parts[1]) != 2 {
		return ""
	}
	sum, err := hashchain.ParseHash(strings.ToLower(parts[2]))
	if err != nil {
		return ""
	}
	if k := evidence.Key(sum); k != name {
		return k
	}
	return ""
}

func mergeSorted(a, b []string) []string {
	out := append(slices.Clip(a), b...)
	slices.Sort(out)
	return out
}

// posStore orders findings about the store itself after every entry's.
const posStore = 1<<62 + 1

// missingCopies warns of the checkpoints that custody wrote a copy of
// beside the evidence and that the store has no copy of: a stored
// checkpoint whose last entry ends an export or refetch run (which
// writes the copy right after signing it), with no checkpoints/<size>.note.
// A warning: the run may have stopped between signing and writing, and a
// store copied without its checkpoints/ lacks them all; the ledger holds
// the checkpoints themselves.
func missingCopies(sf *sideFiles, stored []ledger.StoredCheckpoint, runEnds map[uint64]bool) []Finding {
	var missing []string
	seen := map[uint64]bool{}
	for _, c := range stored {
		if c.Size == 0 || seen[c.Size] || !runEnds[c.Size-1] || sf.names[c.Size] {
			continue
		}
		seen[c.Size] = true
		missing = append(missing, fmt.Sprintf("#%d (size %d)", c.ID, c.Size))
	}
	if len(missing) == 0 {
		return nil
	}
	return []Finding{{Check: CheckEvidence, Warning: true, pos: posStore, Message: fmt.Sprintf(
		"%d %s signed at the end of an export or refetch run, which also writes a copy beside the evidence as %s/<size>.note, %s no copy in %s: %s; deleted, the run stopped before writing it, or the store was copied without its %s/",
		len(missing), plural(len(missing), "stored checkpoint", "stored checkpoints"), checkpointCopyDir, plural(len(missing), "has", "have"),
		sf.url, nameList(missing, len(missing)), checkpointCopyDir)}}
}
