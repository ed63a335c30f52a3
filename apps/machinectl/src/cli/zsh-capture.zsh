# Test fixture of completion.spec.ts: prints, one per line, what zsh offers when TAB is pressed
# after "$1", in a real interactive zsh on a pseudo-terminal (zpty) with compinit loaded from
# $COMPDIR. compadd is wrapped to print what each call adds; the markers are split in the source
# so the terminal's echo of these lines never looks like a result.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($COMPDIR \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  local ret=$?
  (( $#__hits )) && print -rl -- "<H""IT>"${^__hits}
  return ret
}'
zpty -w z "comppostfuncs=(__done); __done() { compstate[list]=; compstate[insert]=; print -r -- '<E''ND>'; }"
zpty -w z "$1"$'\t'
while zpty -r z line; do
  [[ $line == *'<END>'* ]] && break
  [[ $line == *'<HIT>'* ]] && print -r -- ${${${line#*<HIT>}%%$'\n'}%%$'\r'}
done
zpty -d z
