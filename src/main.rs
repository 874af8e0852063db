fn main() -> std::process::ExitCode {
    kvmguestctl::cli::main()
}
