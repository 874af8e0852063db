# Completes a command line in a real interactive zsh and prints the matches, one a line.
#
#   zsh -f capture.zsh FPATH_DIR 'kvmguestctl status w'
#
# The line is typed, followed by a TAB, into a `zsh -f -i` on a pseudo-terminal (zsh/zpty) whose
# completion system (compinit) finds the completion functions in FPATH_DIR, as an installed
# `_kvmguestctl` is found. compadd is wrapped to print each match it is given, after zsh's own
# matching against the word typed, between the bytes 0x01 and 0x02 (the terminal echoes
# everything typed as well); the shell exits once the completion widget has run.
zmodload zsh/zpty || exit 3
fpath_dir=$1 line=$2

zpty z zsh -f -i || exit 3
zpty -w z "PS1= PROMPT= RPROMPT=; unsetopt zle_bracketed_paste 2>/dev/null"
zpty -w z "fpath=(${(q)fpath_dir} \$fpath); autoload -Uz compinit; compinit -u -D"
# A compadd that only computes (-O, -A, -D) is zsh's own bookkeeping (_describe uses it):
# passed through. Any other adds matches: those that match what was typed are printed.
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits; builtin compadd -A __hits "$@"
  local __h; for __h in $__hits; do printf "\\1%s\\2" "$__h"; done
  builtin compadd "$@"
}'
zpty -w z 'comppostfuncs=(exit); bindkey "^I" complete-word; print -r -- READY'
zpty -n -w z "$line"$'\t'

# Read until the child exits (the pty then reports EOF); the caller bounds the time.
while zpty -r z chunk; do
  print -rn -- "$chunk"
done
