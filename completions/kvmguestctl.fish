# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kvmguestctl_global_optspecs
    string join \n config= sys= o/output= q/quiet v/verbose y/yes timeout= ca-file= key-file= h/help V/version
end

function __fish_kvmguestctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kvmguestctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kvmguestctl_using_subcommand
    set -l cmd (__fish_kvmguestctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -s V -l version -d 'Print version'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "validate" -d 'Check resource definitions (and with --connect, the hosts they run on)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "status" -d 'Show where each resource\'s guest runs and its state and confidence on every system'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "start" -d 'Bring resources online on this system (define if configured, start, wait, verify)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "stop" -d 'Shut resources down gracefully on this system, escalating to clean'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "clean" -d 'Destroy resources\' guests on this system at once (no graceful shutdown)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "migrate" -d 'Move running guests from this system to another of their systems'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "display" -d 'Show resources\' attributes with defaults filled in (the password is never shown)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "vmconfigsync" -d 'Save guests\' definitions to SyncDir (and define them elsewhere), or check that all copies agree'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "devscan" -d 'Move the SPM role to the local RHEV cluster and rescan its hosts\' storage (DR failover)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "watch" -d 'Follow managed guests\' lifecycle events on all systems and detect migrations'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "encrypt" -d 'Encrypt a password for RHEVMInfo.Password (like VCS\'s vcsencrypt -agent)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "rhev" -d 'Helpers for RHEV resources'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "ocf" -d 'Run the OCF agent (the Pacemaker resource agent, also reached as a link named KVMGuest)'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "vcs" -d 'Run KVMGuest entry points for VCS, or create the agent directory\'s links'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c kvmguestctl -n "__fish_kvmguestctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -l all -d 'Every configured resource (the default)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -l connect -d 'Also check the environment: hypervisors, guest definitions, SyncDir'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -l all -d 'Every configured resource (the default)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -l assume-stopped -d 'A system that cannot be reached but is known not to run the guest (fenced, powered off)' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -l all -d 'Every configured resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l mode -d 'How to ask the guest to shut down' -r -f -a "auto\t'The guest agent when the guest has its channel, else ACPI'
agent\t'The QEMU guest agent'
acpi\t'The ACPI power button'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l all -d 'Every configured resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -l no-kill -d 'Leave a guest that did not shut down running (and exit 1) instead of destroying it'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand stop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -l all -d 'Every configured resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand clean" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l to -d 'The system to move to' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l mode -d 'How to move the guest' -r -f -a "live\t'The guest keeps running while its memory is copied'
pause\t'The guest is paused while its memory is copied (shorter, but longer downtime)'
offline\t'Shut down here, move the definition, start on the target'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -l all -d 'Every configured resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -l all -d 'Every configured resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand display" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l define-on -d 'After saving, define the definition on these systems' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l all -d 'Every configured resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l everywhere -d 'After saving, define the definition on every other system of the resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -l check -d 'Only compare the copies; change nothing'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vmconfigsync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l wait -d 'Seconds the SPM role may take to move' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l all -d 'Every configured resource'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -l dry-run -d 'Print the steps that would be taken; change nothing'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand devscan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -l state-dir -d 'Where migration state files are written' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand encrypt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -f -a "fetch-ca" -d 'Download the engine\'s CA certificate and print its fingerprint to confirm'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and not __fish_seen_subcommand_from fetch-ca help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -l save -d 'Write the certificate to this file (after confirmation)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from fetch-ca" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from help" -f -a "fetch-ca" -d 'Download the engine\'s CA certificate and print its fingerprint to confirm'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand rhev; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -l dir -d 'Where `install` creates the KVMGuest link' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -l binary -d 'The binary the link runs, for `install` [default: this one]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand ocf" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -f -a "install" -d 'Create a VCS agent directory whose entry points are links to this binary'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and not __fish_seen_subcommand_from install help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -l dir -d 'The agent directory (the type\'s AgentDirectory)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -l binary -d 'The binary the links run [default: this one]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from help" -f -a "install" -d 'Create a VCS agent directory whose entry points are links to this binary'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand vcs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -l config -d 'Resource definitions: a YAML file or a directory of *.yaml files [default: /etc/kvmguestctl/resources.yaml and /etc/kvmguestctl/resources.d/]' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -l sys -d 'The system to act on [default: this machine\'s host name]' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -s o -l output -d 'Output format' -r -f -a "table\t'Aligned columns for people (and `awk`)'
json\t'One JSON document, documented and stable, for scripts'"
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -l timeout -d 'Seconds to wait for any single hypervisor call before giving up on that host' -r
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -l ca-file -d 'The RHEV engine\'s CA certificate (PEM), instead of RHEVMInfo.CAFile' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -l key-file -d 'The key that decrypts RHEVMInfo.Password (see `kvmguestctl encrypt`)' -r -F
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -s q -l quiet -d 'Print nothing but errors and warnings; the exit code tells the result'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -s v -l verbose -d 'Log every hypervisor call and how long it took (on stderr)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -s y -l yes -d 'Answer yes to confirmations (required without a terminal: cron, runbooks)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "validate" -d 'Check resource definitions (and with --connect, the hosts they run on)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "status" -d 'Show where each resource\'s guest runs and its state and confidence on every system'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "start" -d 'Bring resources online on this system (define if configured, start, wait, verify)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "stop" -d 'Shut resources down gracefully on this system, escalating to clean'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "clean" -d 'Destroy resources\' guests on this system at once (no graceful shutdown)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "migrate" -d 'Move running guests from this system to another of their systems'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "display" -d 'Show resources\' attributes with defaults filled in (the password is never shown)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "vmconfigsync" -d 'Save guests\' definitions to SyncDir (and define them elsewhere), or check that all copies agree'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "devscan" -d 'Move the SPM role to the local RHEV cluster and rescan its hosts\' storage (DR failover)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "watch" -d 'Follow managed guests\' lifecycle events on all systems and detect migrations'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "encrypt" -d 'Encrypt a password for RHEVMInfo.Password (like VCS\'s vcsencrypt -agent)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "rhev" -d 'Helpers for RHEV resources'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "ocf" -d 'Run the OCF agent (the Pacemaker resource agent, also reached as a link named KVMGuest)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "vcs" -d 'Run KVMGuest entry points for VCS, or create the agent directory\'s links'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and not __fish_seen_subcommand_from validate status start stop clean migrate display vmconfigsync devscan watch encrypt rhev ocf vcs completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and __fish_seen_subcommand_from rhev" -f -a "fetch-ca" -d 'Download the engine\'s CA certificate and print its fingerprint to confirm'
complete -c kvmguestctl -n "__fish_kvmguestctl_using_subcommand help; and __fish_seen_subcommand_from vcs" -f -a "install" -d 'Create a VCS agent directory whose entry points are links to this binary'
