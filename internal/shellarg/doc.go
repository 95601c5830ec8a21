// Package shellarg quotes an argument for a POSIX shell, for the commands
// custody prints for a person to run (a hint, an erase journal's rerun,
// a report's checks, the demo's next steps): a path with a space or a
// quote in it, copied as shown, must name what it names.
package shellarg
