// Package exporttest holds test doubles of export sources
// (internal/exportfile) shared by the packages that read exports.
package exporttest
