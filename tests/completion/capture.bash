# Completes a command line with bash's programmable completion and prints COMPREPLY, one a line.
#
#   bash --norc --noprofile capture.bash SCRIPT 'kvmguestctl status w'
#
# SCRIPT is sourced as a user's bashrc would; the function it registered for kvmguestctl
# (`complete -p`) is called as readline calls it on a TAB at the end of the line: COMP_WORDS,
# COMP_CWORD, COMP_LINE, COMP_POINT and COMP_TYPE set, and the command, the current word and the
# previous word as its arguments. Words are split at blanks only (no `=` or `:` in the lines).
set -u
# shellcheck source=/dev/null
source "$1"
line=$2
spec=$(complete -p kvmguestctl) || exit 3
func=${spec##*-F }
func=${func%% *}
read -ra COMP_WORDS <<<"$line"
if [[ $line == *' ' ]]; then
    COMP_WORDS+=('')
fi
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMP_TYPE=9
COMPREPLY=()
"$func" kvmguestctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
for reply in "${COMPREPLY[@]}"; do
    printf '%s\n' "$reply"
done
