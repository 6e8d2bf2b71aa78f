fn main() -> std::process::ExitCode {
    ferry_host::cli::main()
}
