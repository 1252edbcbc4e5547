/// How workers turn uploaded documents into text: the extractor binaries and the limits each run
/// of them is held to (`PDFTOTEXT_PATH`, `PANDOC_PATH`, `EXTRACTION_TIMEOUT_SECONDS`,
/// `EXTRACTION_MEMORY_MB`, `MAX_EXTRACTED_TEXT_BYTES`).
public struct ExtractionSettings: Sendable, Hashable {
    /// A path, or a name looked up in the worker's `PATH` (tests point these at fake scripts).
    public var pdftotextPath: String
    public var pandocPath: String
    /// Wall-clock time one extractor run may take; past it the child is killed.
    public var timeout: Duration
    /// The private writable memory one extractor run may use (`prlimit --data`; the worker's
    /// `Sandbox` says why not `--as`).
    public var memoryLimitBytes: Int
    /// The most text (UTF-8 bytes) one document may yield; past it the child is killed.
    public var maxTextBytes: Int
    /// The most pages one document may have (`MAX_DOCUMENT_PAGES`): a text of form feeds would
    /// otherwise be millions of pages, each a string and a `[Page N]` marker.
    public var maxPages: Int
    /// What a DOCX or ODT's central directory may declare before pandoc is given it.
    public var zip: ZipLimits

    public init(
        pdftotextPath: String = "pdftotext",
        pandocPath: String = "pandoc",
        timeout: Duration = .seconds(60),
        memoryLimitBytes: Int = 1 << 30,
        maxTextBytes: Int = 32 << 20,
        maxPages: Int = 10_000,
        zip: ZipLimits = ZipLimits()
    ) {
        self.pdftotextPath = pdftotextPath
        self.pandocPath = pandocPath
        self.timeout = timeout
        self.memoryLimitBytes = memoryLimitBytes
        self.maxTextBytes = maxTextBytes
        self.maxPages = maxPages
        self.zip = zip
    }
}

/// Limits on a ZIP container (DOCX, ODT) read from its central directory alone. They stop honest
/// zip bombs before anything is decompressed; an archive whose headers lie meets the extractor's
/// memory limit, output cap and timeout instead.
public struct ZipLimits: Sendable, Hashable {
    /// Members of one archive (a long Word document has a few dozen).
    public var maxEntries: Int
    /// The sum of the members' declared uncompressed sizes.
    public var maxUncompressedBytes: Int
    /// The most a member of more than `ratioFloorBytes` may expand (uncompressed ÷ compressed).
    /// XML compresses 5–30 times; fixed-Huffman deflate at its best is about 160.
    public var maxRatio: Int
    /// Members smaller than this are not held to `maxRatio` (small XML compresses very well).
    public var ratioFloorBytes: Int
    /// The central directory is read whole; it may be no larger than this.
    public var maxCentralDirectoryBytes: Int

    public init(
        maxEntries: Int = 10_000,
        maxUncompressedBytes: Int = 512 << 20,
        maxRatio: Int = 100,
        ratioFloorBytes: Int = 1 << 20,
        maxCentralDirectoryBytes: Int = 4 << 20
    ) {
        self.maxEntries = maxEntries
        self.maxUncompressedBytes = maxUncompressedBytes
        self.maxRatio = maxRatio
        self.ratioFloorBytes = ratioFloorBytes
        self.maxCentralDirectoryBytes = maxCentralDirectoryBytes
    }
}
