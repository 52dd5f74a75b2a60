import JSON

extension JobQueue {
    /// Admission, then planning, then the job-size limit — the order /initialize and POST /jobs share, so a full
    /// queue answers fast and plans nothing. On success the caller owns the ticket.
    func admitAndPrepare(_ body: JSONValue, backend: any InitializationBackend,
                         maxJobBytes: UInt64) -> Result<(JobTicket, any PreparedCheckpoint), Problem> {
        guard let ticket = tryAdmit() else {
            return .failure(Problem.unavailable("job queue is full (\(capacity) jobs)", retryAfter: 1))
        }
        let prepared: any PreparedCheckpoint
        do throws(BackendError) {
            prepared = try backend.prepare(body)
        } catch {
            ticket.release()
            return .failure(Problem.backend(error))
        }
        guard prepared.jobBytes <= maxJobBytes else {
            ticket.release()
            return .failure(Problem.jobTooLarge(prepared.jobBytes, limit: maxJobBytes))
        }
        return .success((ticket, prepared))
    }
}
